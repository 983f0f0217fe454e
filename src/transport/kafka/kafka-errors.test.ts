import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, SchemaMismatchError } from '../../errors.js';
import { registerTlsSource } from '../tls-failure.js';
import { classifyKafkaError, isFencing, toDrcError } from './kafka-errors.js';

/** A broker answer as kafkajs builds it (see kafkajs src/protocol/error.js). */
const protocol = (type: string, retriable: boolean) => new KafkaJSProtocolError({ type, code: 0, retriable, message: `broker says ${type}` } as never);

describe('classifyKafkaError', () => {
  it('makes a fencing answer fatal, even when it ends a run of retries', () => {
    for (const type of ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']) {
      expect(classifyKafkaError(protocol(type, false))).toMatchObject({ code: ErrorCode.fenced, fatal: true });
    }
    const exhausted = new KafkaJSNumberOfRetriesExceeded(protocol('INVALID_PRODUCER_EPOCH', false), { retryCount: 5, retryTime: 100 });
    expect(isFencing(exhausted)).toBe(true);
    expect(classifyKafkaError(exhausted)?.code).toBe(ErrorCode.fenced);
  });

  it('follows kafkajs: retriable answers and unreachable brokers are transient, the rest deterministic', () => {
    expect(classifyKafkaError(protocol('NOT_LEADER_FOR_PARTITION', true))).toMatchObject({ code: ErrorCode.kafkaUnavailable, retryable: true, context: { kafkaError: 'NOT_LEADER_FOR_PARTITION' } });
    expect(classifyKafkaError(protocol('MESSAGE_TOO_LARGE', false))).toMatchObject({ code: ErrorCode.kafkaRejected, retryable: false, fatal: false });
    expect(classifyKafkaError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED', { broker: '127.0.0.1:9092' }))).toMatchObject({
      code: ErrorCode.kafkaUnavailable,
      context: { broker: '127.0.0.1:9092' },
    });
    const exhausted = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error'), { retryCount: 8, retryTime: 5000 });
    expect(classifyKafkaError(exhausted)?.code).toBe(ErrorCode.kafkaUnavailable);
    expect(classifyKafkaError(new KafkaJSNonRetriableError('Invalid config'))?.code).toBe(ErrorCode.kafkaRejected);
  });

  it('passes everything else through (a handler error travels unchanged)', () => {
    const mismatch = new SchemaMismatchError('table t has no column c here');
    expect(classifyKafkaError(mismatch)).toBeUndefined();
    expect(toDrcError(mismatch)).toBe(mismatch);
    const plain = new Error('boom');
    expect(toDrcError(plain)).toBe(plain);
    // The consumer retried a failing handler, then gave up: the handler's error is what failed.
    const wrapped = new KafkaJSNumberOfRetriesExceeded(mismatch, { retryCount: 5, retryTime: 100 });
    expect(classifyKafkaError(wrapped)).toBeUndefined();
    expect(toDrcError(wrapped)).toBe(mismatch);
  });

  it('stops on an untrusted certificate (kafkajs retries it as a lost connection), naming the broker, kafka.ssl.ca and the file', () => {
    const lost = new KafkaJSConnectionError('Connection error: self-signed certificate in certificate chain', { broker: '127.0.0.1:9093', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    const retried = new KafkaJSNumberOfRetriesExceeded(lost, { retryCount: 8, retryTime: 5000 });
    const exhausted = Object.assign(new KafkaJSNonRetriableError(retried), { cause: retried }); // as kafkajs' retrier rejects (src/retry/index.js; its typings omit the cause)
    const client = registerTlsSource({}, { ssl: { ca: '/tmp/wrong-ca.pem', rejectUnauthorized: true }, brokers: ['127.0.0.1:9093'] });
    const err = toDrcError(exhausted, client);
    expect(err).toMatchObject({ code: ErrorCode.kafkaTls, retryable: false, fatal: false, context: { broker: '127.0.0.1:9093', tlsError: 'SELF_SIGNED_CERT_IN_CHAIN' } });
    expect((err as Error).message).toBe(
      "the TLS certificate of Kafka broker 127.0.0.1:9093 is not trusted: Connection error: self-signed certificate in certificate chain — it is not signed by the CA in /tmp/wrong-ca.pem (kafka.ssl.ca); set kafka.ssl.ca to the CA that signed the brokers' certificates",
    );
    // A refused connection stays transient (a broker restarting).
    expect(classifyKafkaError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED', { broker: 'b:1', code: 'ECONNREFUSED' }))?.code).toBe(ErrorCode.kafkaUnavailable);
  });
});
