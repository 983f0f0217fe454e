/**
 * mysql.tls (config/security.ts) → mysql2's `ssl` option, for every connection DRC opens: pools,
 * admin connections and zongji's binlog and control connections (they take the same options).
 *
 * | mode            | encrypted | server certificate checked           | without TLS on the server |
 * |-----------------|-----------|--------------------------------------|---------------------------|
 * | disabled        | no        | –                                    | plaintext                 |
 * | preferred       | if offered| no                                   | plaintext (tls-preferred) |
 * | required        | yes       | no                                   | refused                   |
 * | verify_ca       | yes       | chains to `ca`                       | refused                   |
 * | verify_identity | yes       | chains to `ca` (or system CAs), name | refused                   |
 *
 * The options object is built once per config block and reused: mysql2 keeps one TLS context per
 * options object, so a pool does not parse the certificates again for every connection.
 */
import { readFileSync } from 'node:fs';
import type { SslOptions } from 'mysql2';
import type { MysqlTlsConfig } from '../config/security.js';
import { ConfigError } from '../errors.js';
import { PREFERRED_TLS } from './tls-preferred.js';

const built = new WeakMap<MysqlTlsConfig, SslOptions | undefined>();

/** mysql2 `ssl` options for a tls block; undefined for mode disabled. */
export function mysqlSslOptions(tls: MysqlTlsConfig | undefined): SslOptions | undefined {
  if (!tls || tls.mode === 'disabled') return undefined;
  if (built.has(tls)) return built.get(tls);
  const read = (key: 'ca' | 'cert' | 'key') => {
    const path = tls[key];
    if (!path) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError('<config>', [{ path: `mysql.tls.${key}`, message: `cannot read ${path}: ${(err as Error).message}` }], { cause: err });
    }
  };
  const verify = tls.mode === 'verify_ca' || tls.mode === 'verify_identity';
  const ca = read('ca');
  const cert = read('cert');
  const key = read('key');
  const ssl: SslOptions & { [PREFERRED_TLS]?: true } = {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    rejectUnauthorized: verify,
    verifyIdentity: tls.mode === 'verify_identity',
    minVersion: 'TLSv1.2',
  };
  if (tls.mode === 'preferred') ssl[PREFERRED_TLS] = true;
  built.set(tls, ssl);
  return ssl;
}

/** Node's codes for a certificate the client does not trust (tls.connect errors). */
const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME|ALTNAME/i;

/**
 * A TLS failure as one line with the fix, naming the server and the file it was checked against; undefined
 * when `err` is no TLS failure. mysql2 reports a failed handshake as HANDSHAKE_SSL_ERROR (Node's own
 * code is lost; its message remains) and a server without TLS as HANDSHAKE_NO_SSL_SUPPORT.
 */
export function tlsFailureHint(server: string, tls: MysqlTlsConfig | undefined, err: unknown): string | undefined {
  const e = err as { code?: string; message?: string };
  const message = e?.message ?? '';
  if (e?.code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return `${server} does not offer TLS but mysql.tls.mode is ${tls?.mode} — enable TLS on the server (ssl_cert, ssl_key, ssl_ca) or, on a trusted network only, set mode: preferred`;
  }
  if (e?.code !== 'HANDSHAKE_SSL_ERROR' && !(e?.code && UNTRUSTED.test(e.code))) return undefined;
  if (/altname|hostname|does not match/i.test(message) || /ALTNAME/.test(e.code ?? '')) {
    return `the TLS certificate of ${server} does not name that host (${message}) — connect by a name/IP its certificate lists, or use mode verify_ca`;
  }
  if (UNTRUSTED.test(message) || /certificate/i.test(message)) {
    const against = tls?.ca ? `the CA in ${tls.ca} (mysql.tls.ca)` : 'the system CAs (mysql.tls.ca is not set)';
    return `the TLS certificate of ${server} is not trusted: ${message} — it is not signed by ${against}; set mysql.tls.ca to the CA that signed the server's certificate`;
  }
  return `TLS handshake with ${server} failed: ${message} — check mysql.tls (mode, ca, cert, key) against the server's ssl settings`;
}
