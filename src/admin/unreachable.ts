/**
 * "A server could not be reached" is its own outcome of an admin tool, never a green table and never
 * "differences found": the tools report it per ezone and the CLI exits with code 3.
 */
import type { MysqlConfig } from '../config/schema.js';
import { DrcError } from '../errors.js';

/**
 * Exit code of a `drc` command that could not reach a server it needed (0 ok, 1 check failed,
 * 2 usage or config, 3 unreachable). TODO(lead): belongs in errors.ts's ExitCode as `unreachable`.
 */
export const EXIT_UNREACHABLE = 3;

/** A server (an ezone's database or Kafka) the command needed did not answer. */
export class UnreachableError extends DrcError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('DRC_UNREACHABLE', message, { ...options, exitCode: EXIT_UNREACHABLE, retryable: true });
  }
}

/** One line naming the ezone, where it was looked for and why it failed (no password). */
export function unreachableMessage(ezone: string, mysql: Pick<MysqlConfig, 'host' | 'port' | 'user'>, err: unknown): string {
  return `cannot connect to ezone ${ezone}'s database at ${mysql.host}:${mysql.port} as ${mysql.user}: ${reasonOf(err)} — is the server running? check ezones.${ezone}.mysql`;
}

/** A driver error in a few words: its message, with its code when the message lacks it (Node's AggregateError has none). */
export function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (!e.code || message.includes(e.code)) return message || 'unknown error';
  return message ? `${e.code}: ${message}` : e.code;
}

