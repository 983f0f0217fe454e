/**
 * `drc doctor`'s security checks: each link's TLS state (MySQL as the server reports the session,
 * Kafka from the config) and the least-privilege check (privileges.ts). An unencrypted or unverified
 * link is a warning (it works, but crosses the network readable or open to a man in the middle);
 * excess privileges fail.
 */
import type mysql from 'mysql2/promise';
import type { KafkaConfig, MysqlConfig } from '../config/schema.js';
import { kafkaLinkSecurity } from '../config/security.js';
import type { Check } from './check.js';
import { privilegeFindings } from './privileges.js';

const FIX_MYSQL = (ezone: string) => `set ezones.${ezone}.mysql.tls (mode: verify_identity, ca: <CA file>) — README "Security"`;

/** The TLS state of this session, as the server sees it. */
export async function mysqlTlsCheck(conn: mysql.Connection, ezone: string, cfg: MysqlConfig): Promise<Check> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')");
  const status = Object.fromEntries(rows.map((r) => [String(r.Variable_name), String(r.Value ?? '')]));
  return mysqlTlsVerdict(ezone, `${cfg.host}:${cfg.port}`, cfg.tls, status.Ssl_version ?? '', status.Ssl_cipher ?? '');
}

/** The verdict on one MySQL link (pure). */
export function mysqlTlsVerdict(ezone: string, server: string, tls: MysqlConfig['tls'], version: string, cipher: string): Check {
  const mode = tls?.mode ?? 'disabled';
  if (!cipher) {
    return { ezone, check: 'tls', ok: true, warning: true, message: `the link to ${server} is not encrypted (mysql.tls.mode ${mode}): passwords' hashes and every replicated row cross the network readable — ${FIX_MYSQL(ezone)}` };
  }
  const what = `${version} ${cipher}${tls?.cert ? ', client certificate' : ''}`;
  if (mode === 'verify_ca' || mode === 'verify_identity') {
    return { ezone, check: 'tls', ok: true, message: `encrypted (${what}), server certificate verified (${mode}${tls?.ca ? ` against ${tls.ca}` : ', system CAs'})` };
  }
  return { ezone, check: 'tls', ok: true, warning: true, message: `encrypted (${what}) but the server's certificate is not verified (mode ${mode}): a man in the middle can read the link — use mode verify_identity or verify_ca with ca` };
}

/** The Kafka link's protection, from the config (the brokers were reached with it by the kafka check). */
export function kafkaTlsCheck(kafka: Pick<KafkaConfig, 'ssl' | 'sasl'>): Check {
  const s = kafkaLinkSecurity(kafka);
  const auth = s.sasl ? `SASL ${s.sasl.toUpperCase()}` : s.clientCert ? 'client certificate' : 'no client authentication';
  if (!s.encrypted) {
    return { ezone: 'kafka', check: 'tls', ok: true, warning: true, message: `the link to Kafka is not encrypted (kafka.ssl false; ${auth}): every change crosses the network readable${s.sasl === 'plain' ? ', the SASL password too' : ''} — set kafka.ssl (true, or { ca, cert, key }) — README "Security"` };
  }
  if (!s.verified) return { ezone: 'kafka', check: 'tls', ok: true, warning: true, message: `encrypted, but kafka.ssl.rejectUnauthorized is false: the brokers' certificates are not verified (${auth}) — remove it and set kafka.ssl.ca` };
  return { ezone: 'kafka', check: 'tls', ok: true, message: `encrypted, brokers verified, ${auth}` };
}

/** Least privilege: what DRC needs, nothing more (privileges.ts). */
export async function privilegesCheck(conn: mysql.Connection, ezone: string, user: string): Promise<Check> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW GRANTS');
  const { missing, excess } = privilegeFindings(rows.map((r) => String(Object.values(r)[0])));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing ${missing.join('; ')} — grant them to ${user} (README "Security" lists them)`);
  if (excess.length > 0) {
    problems.push(`${user} has privileges beyond what DRC needs: ${excess.join(', ')} — revoke them (REVOKE … FROM ${user}); a leaked DRC password must not give more than DRC does (README "Security")`);
  }
  return {
    ezone,
    check: 'privileges',
    ok: problems.length === 0,
    message: problems.length === 0 ? 'least privilege: replication, DML and drc_meta privileges, nothing more' : problems.join('; '),
  };
}
