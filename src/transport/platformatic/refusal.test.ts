import { AuthenticationError, NetworkError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { KafkaRejectedError, KafkaUnavailableError } from '../../errors.js';
import { ProducerRefusal } from './refusal.js';

describe('ProducerRefusal: why a producer stopped retrying', () => {
  it('gives a producer up once, after 5 refused authentications spanning 10 s: closes it and names who, the attempts and kafka.sasl', async () => {
    let clock = 0;
    let closed = 0;
    const refusal = new ProducerRefusal({ clientId: 'x', bootstrapBrokers: ['k:9094'] }, 'the event producer');
    const delay = refusal.retryDelay(() => 7, () => ({ close: async () => void closed++ }), { failures: 5, windowMs: 10_000 }, () => clock);
    const sasl = new NetworkError('Connection to k:9094 failed.', { cause: new AuthenticationError('SASL authentication failed.') });
    for (let i = 1; i <= 4; i++, clock += 5000) expect(delay(undefined, 'send', i, Infinity, sasl)).toBe(7);
    expect(refusal.reason).toBeUndefined();
    expect(refusal.failure(sasl)).toBeInstanceOf(KafkaRejectedError); // classified, not yet the refusal
    for (let i = 5; i <= 6; i++) delay(undefined, 'send', i, Infinity, sasl); // the fifth gives up; the sixth changes nothing
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(1);
    const reason = refusal.reason!;
    expect(reason).toBeInstanceOf(KafkaRejectedError);
    expect(reason.message).toMatch(/^Kafka refused the event producer: .* — 5 attempts over 20 s; check kafka\.sasl/);
    // Whatever the closed producer then reports, the refusal is what is thrown, until cleared.
    expect(refusal.failure(new Error('closed'))).toBe(reason);
    refusal.clear();
    const down = new NetworkError('Connection to k:9094 failed.', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(refusal.failure(down)).toBeInstanceOf(KafkaUnavailableError);
  });
});
