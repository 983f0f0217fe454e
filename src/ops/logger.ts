import { pino, type Logger, type LevelWithSilent, type LoggerOptions } from 'pino';
import { redactDriverMessage } from '../db/mysql-errors.js';

export type { Logger };

/** Keys whose values never reach a log line (passwords, row images, driver SQL with its parameters). */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'mysql.password',
  'sasl.password',
  'before',
  'after',
  '*.before',
  '*.after',
  'row',
  'rows',
  'values',
  'sql',
  'sqlMessage',
  '*.sql',
  '*.sqlMessage',
];

/** An error as a log field: type, code, redacted message; never the driver's `sql`, `sqlMessage` or parameters. */
export function serializeError(err: unknown, depth = 0): unknown {
  if (typeof err === 'string') return redactDriverMessage(err);
  if (!(err instanceof Error)) return err;
  const e = err as Error & { code?: unknown; errno?: unknown; retryable?: unknown; fatal?: unknown; context?: unknown };
  const message = redactDriverMessage(e.message);
  const out: Record<string, unknown> = { type: e.name, message };
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.errno === 'number') out.errno = e.errno;
  if (typeof e.retryable === 'boolean') out.retryable = e.retryable;
  if (typeof e.fatal === 'boolean') out.fatal = e.fatal;
  if (e.context && typeof e.context === 'object' && Object.keys(e.context).length > 0) out.context = e.context;
  // The stack's head repeats the raw message: keep only its frames, under the redacted message.
  const frames = e.stack?.indexOf('\n    at ') ?? -1;
  if (frames >= 0) out.stack = `${e.name}: ${message}${e.stack?.slice(frames)}`;
  if (e.cause !== undefined && depth < 2) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

/** The logger's settings (level, redaction, the `err` serializer), also used by tests with their own sink. */
export function loggerOptions(level: LevelWithSilent): LoggerOptions {
  return {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Every `err` field goes through serializeError, a string included (redacted driver messages).
    serializers: { err: (v: unknown) => serializeError(v) },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

/**
 * The process logger: structured JSON on stderr (stdout is reserved for command output such as
 * `--json` documents). Components take children: `logger.child({ component: 'capture' })`.
 */
export function createLogger(level: LevelWithSilent = (process.env.DRC_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info'): Logger {
  return pino(loggerOptions(level), pino.destination({ fd: 2, sync: false }));
}
