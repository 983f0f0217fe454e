import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { AuthenticationError, NetworkError } from '@platformatic/kafka';
import { authBoundedDelay, backoff, baseOptions } from './options.js';

const kafka = (extra: Record<string, unknown> = {}) => configSchema.shape.kafka.parse({ brokers: ['k1:9092', 'k2:9093'], ...extra });

describe('platformatic client options from the kafka config slice', () => {
  it('maps brokers and client id, and neither TLS nor SASL by default', () => {
    const o = baseOptions(kafka(), { clientId: 'drc-a' });
    expect(o).toMatchObject({ clientId: 'drc-a', bootstrapBrokers: ['k1:9092', 'k2:9093'] });
    expect(o.tls).toBeUndefined();
    expect(o.sasl).toBeUndefined();
    expect(baseOptions(kafka(), { clientId: 'x', brokers: ['own:1'] }).bootstrapBrokers).toEqual(['own:1']);
  });

  it('maps kafka.ssl to TLS with the system CAs and kafka.sasl to its mechanism names', () => {
    for (const [mechanism, name] of [
      ['plain', 'PLAIN'],
      ['scram-sha-256', 'SCRAM-SHA-256'],
      ['scram-sha-512', 'SCRAM-SHA-512'],
    ] as const) {
      const o = baseOptions(kafka({ ssl: true, sasl: { mechanism, username: 'u', password: 'p' } }), { clientId: 'x' });
      expect(o.tls).toEqual({});
      expect(o.sasl).toEqual({ mechanism: name, username: 'u', password: 'p' });
    }
  });

  it('maps the object form of kafka.ssl to the files it names, and oauthbearer to a token re-read from its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drc-opts-'));
    const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    const ca = file('ca.pem', 'CA PEM');
    const cert = file('c.pem', 'CERT PEM');
    const key = file('k.pem', 'KEY PEM');
    const token = file('token', 'tok-1\n');
    const o = baseOptions(kafka({ ssl: { ca, cert, key, servername: 'broker.example' }, sasl: { mechanism: 'oauthbearer', tokenFile: token } }), { clientId: 'x' });
    expect(o.tls).toEqual({ rejectUnauthorized: true, ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', servername: 'broker.example' });
    expect(o.sasl?.mechanism).toBe('OAUTHBEARER');
    const provider = o.sasl?.token as () => string;
    expect(provider()).toBe('tok-1');
    writeFileSync(token, 'tok-2\n'); // rotated by a token agent
    expect(provider()).toBe('tok-2');
  });

  it('backs off exponentially with jitter up to the cap', () => {
    const delay = backoff(5, 5000);
    expect(delay(undefined, 'op', 1)).toBeGreaterThanOrEqual(4);
    expect(delay(undefined, 'op', 1)).toBeLessThanOrEqual(6);
    expect(delay(undefined, 'op', 30)).toBeLessThanOrEqual(6000);
    expect(delay(undefined, 'op', 30)).toBeGreaterThanOrEqual(4000);
  });

  it('the default client is platformatic; kafkajs is selectable; anything else is refused', () => {
    expect(kafka().client).toBe('platformatic');
    expect(kafka({ client: 'kafkajs' }).client).toBe('kafkajs');
    expect(() => kafka({ client: 'rdkafka' })).toThrow();
  });

  it('bounds the retries of authentication and TLS failures: given up after 5 in a row spanning 10 s, other failures retried for ever', () => {
    let clock = 0;
    const gaveUp: number[] = [];
    const delay = authBoundedDelay(() => 7, (_err, failures) => gaveUp.push(failures), { failures: 5, windowMs: 10_000 }, () => clock);
    const sasl = new NetworkError('Connection to k:9094 failed.', { cause: new AuthenticationError('SASL authentication failed.') });
    const down = new NetworkError('Connection to k:9094 failed.', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    for (let i = 0; i < 100; i++, clock += 1000) expect(delay(undefined, 'send', i + 1, Infinity, down)).toBe(7);
    expect(gaveUp).toEqual([]);
    for (let i = 0; i < 4; i++, clock += 5000) delay(undefined, 'send', i + 1, Infinity, sasl);
    delay(undefined, 'send', 5, Infinity, down); // an outage in between: the count starts again
    for (let i = 0; i < 4; i++, clock += 5000) delay(undefined, 'send', i + 1, Infinity, sasl);
    expect(gaveUp).toEqual([]);
    delay(undefined, 'send', 5, Infinity, sasl); // the fifth in a row, 20 s after the first
    expect(gaveUp).toEqual([5]);
    // Five quick ones are not enough: the window must have passed too.
    const quick: number[] = [];
    const other = authBoundedDelay(() => 7, (_e, n) => quick.push(n), { failures: 5, windowMs: 10_000 }, () => clock);
    for (let i = 0; i < 5; i++) other(undefined, 'send', i + 1, Infinity, sasl);
    expect(quick).toEqual([]);
  });
});
