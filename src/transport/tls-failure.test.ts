import { describe, expect, it } from 'vitest';
import { kafkaTlsMessage, tlsFailureIn } from './tls-failure.js';

const nodeError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('Kafka TLS failures', () => {
  it('finds Node\'s TLS error in a chain by its code, and the broker where an error names it', () => {
    expect(tlsFailureIn([new Error('outer'), Object.assign(new Error('lost'), { broker: 'k:9093' }), nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate')])).toEqual({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      reason: 'unable to verify the first certificate',
      broker: 'k:9093',
    });
    expect(tlsFailureIn([new Error('x'), nodeError('ECONNREFUSED', 'connect ECONNREFUSED')])).toBeUndefined();
  });

  it('names the setting and the file, or the system CAs when kafka.ssl.ca is not set', () => {
    const untrusted = { code: 'SELF_SIGNED_CERT_IN_CHAIN', reason: 'self-signed certificate in certificate chain', broker: 'k:9093' };
    expect(kafkaTlsMessage(untrusted, { ssl: { ca: '/etc/ca.pem', rejectUnauthorized: true }, brokers: ['k:9093'] })).toContain('not signed by the CA in /etc/ca.pem (kafka.ssl.ca)');
    expect(kafkaTlsMessage(untrusted, { ssl: true, brokers: ['k:9093'] })).toContain('not signed by the system CAs (kafka.ssl.ca is not set)');
    expect(kafkaTlsMessage({ code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: "Hostname/IP does not match certificate's altnames" }, { ssl: true, brokers: ['a:1', 'b:2'] })).toBe(
      "the TLS certificate of the Kafka broker(s) a:1, b:2 does not name that host (Hostname/IP does not match certificate's altnames) — list the brokers by a name or IP their certificates carry, or set kafka.ssl.servername",
    );
    expect(kafkaTlsMessage({ code: 'ERR_SSL_WRONG_VERSION_NUMBER', reason: 'wrong version number' }, undefined)).toMatch(/^TLS handshake with the Kafka broker failed: wrong version number — check kafka\.ssl/);
  });
});
