import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError, TimeoutError, UserError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { ErrorCode, SchemaMismatchError } from '../../errors.js';
import { registerTlsSource } from '../tls-failure.js';
import { classifyPlatformaticError, isFencing, toDrcError } from './errors.js';

describe('classifyPlatformaticError', () => {
  it('makes a fencing answer fatal, also at the end of a run of retries', () => {
    for (const id of ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']) {
      expect(classifyPlatformaticError(new ProtocolError(id))).toMatchObject({ code: ErrorCode.fenced, fatal: true });
    }
    const retried = new MultipleErrors('endTransaction failed 3 times.', [new ProtocolError('CONCURRENT_TRANSACTIONS'), new ProtocolError('PRODUCER_FENCED')]);
    expect(isFencing(retried)).toBe(true);
    expect(classifyPlatformaticError(retried)?.code).toBe(ErrorCode.fenced);
  });

  it('follows the library: retriable answers, lost connections and timeouts are transient, the rest deterministic', () => {
    expect(classifyPlatformaticError(new ProtocolError('NOT_LEADER_OR_FOLLOWER'))).toMatchObject({ code: ErrorCode.kafkaUnavailable, retryable: true, context: { kafkaError: 'NOT_LEADER_OR_FOLLOWER' } });
    expect(classifyPlatformaticError(new ProtocolError('MESSAGE_TOO_LARGE'))).toMatchObject({ code: ErrorCode.kafkaRejected, retryable: false, fatal: false });
    expect(classifyPlatformaticError(new NetworkError('Connection to 127.0.0.1:1 failed.'))?.code).toBe(ErrorCode.kafkaUnavailable);
    expect(classifyPlatformaticError(new TimeoutError('Request timed out.'))?.code).toBe(ErrorCode.kafkaUnavailable);
    const exhausted = new MultipleErrors('produce failed 9 times.', [new NetworkError('a'), new NetworkError('b')]);
    expect(classifyPlatformaticError(exhausted)?.code).toBe(ErrorCode.kafkaUnavailable);
    expect(classifyPlatformaticError(new UserError('Cannot produce to an already completed transaction.'))?.code).toBe(ErrorCode.kafkaRejected);
  });

  it('stops on refused credentials and untrusted certificates (the library would retry them for ever), naming the innermost reason', () => {
    const sasl = new NetworkError('Connection to 127.0.0.1:9094 failed.', { cause: new AuthenticationError('SASL authentication failed.') });
    expect(classifyPlatformaticError(sasl)).toMatchObject({ code: ErrorCode.kafkaRejected, retryable: false });
    expect(classifyPlatformaticError(sasl)?.message).toContain('SASL authentication failed.');
    const tls = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    const exhausted = new MultipleErrors('listTopics failed 4 times.', [new NetworkError('Connection to 127.0.0.1:9093 failed.', { cause: tls })]);
    expect(classifyPlatformaticError(exhausted)).toMatchObject({ code: ErrorCode.kafkaTls, retryable: false, context: { tlsError: 'SELF_SIGNED_CERT_IN_CHAIN' } });
    expect(classifyPlatformaticError(exhausted)?.message).toContain('self-signed certificate in certificate chain');
    // The options a client was made from name the brokers and the CA file (options.ts registers them).
    const source = registerTlsSource({}, { ssl: { ca: '/etc/drc/ca.pem', rejectUnauthorized: true }, brokers: ['k1:9093'] });
    expect((toDrcError(exhausted, source) as Error).message).toBe(
      "the TLS certificate of the Kafka broker(s) k1:9093 is not trusted: self-signed certificate in certificate chain — it is not signed by the CA in /etc/drc/ca.pem (kafka.ssl.ca); set kafka.ssl.ca to the CA that signed the brokers' certificates",
    );
    // A refused connection stays transient (a broker restarting).
    const refused = new NetworkError('Connection to 127.0.0.1:1 failed.', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(classifyPlatformaticError(refused)).toMatchObject({ code: ErrorCode.kafkaUnavailable, retryable: true });
  });

  it('passes everything else through (a handler error travels unchanged)', () => {
    const mismatch = new SchemaMismatchError('table t has no column c here');
    expect(classifyPlatformaticError(mismatch)).toBeUndefined();
    expect(toDrcError(mismatch)).toBe(mismatch);
    const plain = new Error('boom');
    expect(toDrcError(plain)).toBe(plain);
  });
});
