/**
 * "A server could not be reached" is its own outcome of an admin tool, never a green table and never
 * "differences found": the tools report it per ezone and the CLI exits with code 3.
 */
import type { MysqlConfig } from '../config/schema.js';
import { tlsFailureHint } from '../db/tls.js';

/** One line naming the ezone, where it was looked for and why it failed (no password); a TLS failure names the CA file. */
export function unreachableMessage(ezone: string, mysql: Pick<MysqlConfig, 'host' | 'port' | 'user'> & { tls?: MysqlConfig['tls'] }, err: unknown): string {
  const tls = tlsFailureHint(`ezone ${ezone}'s database at ${mysql.host}:${mysql.port}`, mysql.tls, err);
  if (tls) return `cannot connect: ${tls} (ezones.${ezone}.mysql.tls)`;
  return `cannot connect to ezone ${ezone}'s database at ${mysql.host}:${mysql.port} as ${mysql.user}: ${reasonOf(err)} — is the server running? check ezones.${ezone}.mysql`;
}

/** A driver error in a few words: its message, with its code when the message lacks it (Node's AggregateError has none). */
export function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (!e.code || message.includes(e.code)) return message || 'unknown error';
  return message ? `${e.code}: ${message}` : e.code;
}

