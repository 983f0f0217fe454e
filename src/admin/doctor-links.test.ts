import { describe, expect, it } from 'vitest';
import { tlsFailureHint } from '../db/tls.js';
import { kafkaTlsCheck, mysqlTlsVerdict } from './doctor-links.js';

describe("doctor's TLS verdicts", () => {
  it('warns on an unencrypted or unverified MySQL link, passes a verified one', () => {
    expect(mysqlTlsVerdict('a', 'db:3306', { mode: 'disabled' }, '', '')).toMatchObject({ ok: true, warning: true, message: expect.stringMatching(/^the link to db:3306 is not encrypted/) });
    expect(mysqlTlsVerdict('a', 'db:3306', { mode: 'required' }, 'TLSv1.3', 'TLS_AES_256_GCM_SHA384')).toMatchObject({ ok: true, warning: true, message: expect.stringContaining('not verified (mode required)') });
    const good = mysqlTlsVerdict('a', 'db:3306', { mode: 'verify_identity', ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' }, 'TLSv1.3', 'TLS_AES_256_GCM_SHA384');
    expect(good).toEqual({ ezone: 'a', check: 'tls', ok: true, message: 'encrypted (TLSv1.3 TLS_AES_256_GCM_SHA384, client certificate), server certificate verified (verify_identity against /ca.pem)' });
  });

  it('judges the Kafka link from the config', () => {
    expect(kafkaTlsCheck({ ssl: false, sasl: { mechanism: 'plain', username: 'u', password: 'p' } })).toMatchObject({ warning: true, message: expect.stringContaining('the SASL password too') });
    expect(kafkaTlsCheck({ ssl: { rejectUnauthorized: false } })).toMatchObject({ warning: true });
    expect(kafkaTlsCheck({ ssl: { rejectUnauthorized: true, ca: '/ca.pem' }, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } })).toEqual({ ezone: 'kafka', check: 'tls', ok: true, message: 'encrypted, brokers verified, SASL SCRAM-SHA-512' });
  });

  it('names the server and the CA file for an untrusted certificate, and nothing for other errors', () => {
    const err = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'HANDSHAKE_SSL_ERROR' });
    expect(tlsFailureHint('db:3306', { mode: 'verify_ca', ca: '/etc/drc/ca.pem' }, err)).toBe(
      "the TLS certificate of db:3306 is not trusted: self-signed certificate in certificate chain — it is not signed by the CA in /etc/drc/ca.pem (mysql.tls.ca); set mysql.tls.ca to the CA that signed the server's certificate",
    );
    expect(tlsFailureHint('db:3306', { mode: 'required' }, Object.assign(new Error('x'), { code: 'HANDSHAKE_NO_SSL_SUPPORT' }))).toMatch(/^db:3306 does not offer TLS but mysql\.tls\.mode is required/);
    expect(tlsFailureHint('db:3306', { mode: 'disabled' }, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBeUndefined();
  });
});
