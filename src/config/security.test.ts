import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { connectionOptions } from '../db/connect.js';
import { mysqlSslOptions } from '../db/tls.js';
import { kafkajsSecurity } from '../transport/kafka/security.js';
import { parseConfig } from './loader.js';

const dir = mkdtempSync(join(tmpdir(), 'drc-security-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const cert = file('client.pem', 'CERT');
const key = file('client-key.pem', 'KEY');
const secret = file('password', 's3cr3t-from-file\n');

const config = (mysql: string, kafka = '') => `
kafka:
  brokers: [127.0.0.1:9092]
${kafka}
ezones:
  a:
    mysql: ${mysql}
    serverId: 101
`;

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, 'test.yaml', {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('expected the config to be rejected');
}

describe('mysql.tls', () => {
  it('defaults to disabled and maps each mode onto mysql2 ssl options', () => {
    expect(parseConfig(config('{ host: db }'), 't', {}).ezones.a?.mysql.tls).toEqual({ mode: 'disabled' });
    const opts = (tls: string) => mysqlSslOptions(parseConfig(config(`{ host: db, tls: ${tls} }`), 't', {}).ezones.a!.mysql.tls);
    expect(opts('{ mode: disabled }')).toBeUndefined();
    expect(opts('{ mode: required }')).toMatchObject({ rejectUnauthorized: false, verifyIdentity: false });
    expect(opts(`{ mode: verify_ca, ca: ${ca} }`)).toMatchObject({ ca: expect.stringContaining('BEGIN CERTIFICATE'), rejectUnauthorized: true, verifyIdentity: false });
    expect(opts(`{ mode: verify_identity, ca: ${ca}, cert: ${cert}, key: ${key} }`)).toMatchObject({ cert: 'CERT', key: 'KEY', rejectUnauthorized: true, verifyIdentity: true });
    expect(Object.getOwnPropertySymbols(opts('{ mode: preferred }'))).toHaveLength(1);
  });

  it('names the key and the fix for a bad tls block', () => {
    expect(problemsOf(config('{ tls: { mode: verify_ca } }'))).toEqual([expect.stringMatching(/^ezones\.a\.mysql\.tls\.ca: mode verify_ca needs the CA file/)]);
    expect(problemsOf(config('{ host: db }', '  ssl: { ca: /nonexistent/ca.pem }'))).toEqual([
      'kafka.ssl.ca: cannot read /nonexistent/ca.pem: no such file — give the path of an existing file DRC\'s user can read',
    ]);
    expect(problemsOf(config(`{ tls: { mode: required, cert: ${cert} } }`))).toEqual([expect.stringMatching(/^ezones\.a\.mysql\.tls\.key: a client certificate needs its key/)]);
    expect(problemsOf(config(`{ tls: { ca: ${ca} } }`))).toEqual([expect.stringMatching(/^ezones\.a\.mysql\.tls\.mode: mode is disabled \(plaintext\) but certificate files are given/)]);
    expect(problemsOf(config('{ tls: { mode: verify } }'))[0]).toMatch(/^ezones\.a\.mysql\.tls\.mode: must be one of: "disabled", "preferred", "required", "verify_ca", "verify_identity"/);
  });
});

describe('secrets from files', () => {
  it('reads mysql.passwordFile when connecting (one trailing newline dropped), so a daemon needs only its own ezone\'s secret', () => {
    const mysql = parseConfig(config(`{ host: db, passwordFile: ${secret} }`), 't', {}).ezones.a!.mysql;
    expect(mysql.password).toBe('');
    expect(connectionOptions(mysql).password).toBe('s3cr3t-from-file');
    const missing = parseConfig(config('{ passwordFile: /nonexistent/pw }'), 't', {}).ezones.a!.mysql;
    expect(() => connectionOptions(missing)).toThrow(/mysql\.passwordFile: cannot read \/nonexistent\/pw: ENOENT/);
    const noCa = parseConfig(config('{ tls: { mode: verify_ca, ca: /nonexistent/ca.pem } }'), 't', {}).ezones.a!.mysql;
    expect(() => connectionOptions(noCa)).toThrow(/mysql\.tls\.ca: cannot read \/nonexistent\/ca\.pem/);
  });

  it('refuses password and passwordFile together, naming the key', () => {
    expect(problemsOf(config(`{ password: x, passwordFile: ${secret} }`))).toEqual(['ezones.a.mysql.passwordFile: give the password once: password or passwordFile, not both']);
  });

  it('reads kafka.sasl.passwordFile; sasl without any password is refused', () => {
    const cfg = parseConfig(config('{ host: db }', `  sasl: { mechanism: scram-sha-512, username: drc, passwordFile: ${secret} }`), 't', {});
    expect(cfg.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'drc', password: 's3cr3t-from-file' });
    expect(problemsOf(config('{ host: db }', '  sasl: { mechanism: plain, username: drc }'))[0]).toMatch(/^kafka\.sasl\.password: required key is missing/);
    expect(problemsOf(config('{ host: db }', '  sasl: { mechanism: oauthbearer }'))[0]).toMatch(/^kafka\.sasl\.tokenFile: mechanism oauthbearer needs tokenFile/);
  });
});

describe('kafka.ssl → kafkajs', () => {
  const security = (kafka: string) => kafkajsSecurity(parseConfig(config('{ host: db }', kafka), 't', {}).kafka);
  it('keeps ssl: true and maps the object form, reading the files', () => {
    expect(security('  ssl: true')).toEqual({ ssl: true });
    expect(security('')).toEqual({});
    expect(security(`  ssl: { ca: ${ca}, cert: ${cert}, key: ${key} }`)).toEqual({ ssl: { rejectUnauthorized: true, ca: expect.stringContaining('BEGIN'), cert: 'CERT', key: 'KEY' } });
    expect(security('  ssl: { rejectUnauthorized: false, servername: kafka.internal }')).toEqual({ ssl: { rejectUnauthorized: false, servername: 'kafka.internal' } });
  });

  it('maps SASL, with an OAUTHBEARER token re-read from its file on every authentication', async () => {
    expect(security('  sasl: { mechanism: plain, username: u, password: p }').sasl).toEqual({ mechanism: 'plain', username: 'u', password: 'p' });
    const token = file('token', 'tok-1\n');
    const sasl = security(`  sasl: { mechanism: oauthbearer, tokenFile: ${token} }`).sasl as { oauthBearerProvider: () => Promise<{ value: string }> };
    expect(await sasl.oauthBearerProvider()).toEqual({ value: 'tok-1' });
    writeFileSync(token, 'tok-2');
    expect(await sasl.oauthBearerProvider()).toEqual({ value: 'tok-2' });
  });
});
