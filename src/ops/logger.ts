import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line (passwords, row images). */
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
];

/**
 * The process logger: structured JSON on stderr (stdout is reserved for command output such as
 * `--json` documents). Components take children: `logger.child({ component: 'capture' })`.
 */
export function createLogger(level: LevelWithSilent = (process.env.DRC_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
