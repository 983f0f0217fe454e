/**
 * The logger handed to DRC code running inside the test process (in-process daemons, capture,
 * sandbox restarts). Its lines are kept in memory, not written out: a passing test prints none of
 * the warnings its faults provoke on purpose; a failing one prints them (see log-on-failure.ts).
 * DRC_TEST_LOG=stderr writes them through as they come, for watching a test live.
 */
import { pino, type LevelWithSilent } from 'pino';
import { REDACT_PATHS, type Logger } from '../../src/ops/logger.js';

/** Lines kept per test, newest last (older ones are dropped). */
const KEEP = 400;
const lines: string[] = [];
let dropped = 0;

const sink = {
  write(line: string): void {
    if (process.env.DRC_TEST_LOG === 'stderr') {
      process.stderr.write(line);
      return;
    }
    lines.push(line.trimEnd());
    if (lines.length > KEEP) {
      lines.shift();
      dropped++;
    }
  },
};

/** A logger whose lines are held for the current test (level DRC_TEST_LOG_LEVEL, default warn). */
export function testLogger(level: LevelWithSilent = (process.env.DRC_TEST_LOG_LEVEL as LevelWithSilent | undefined) ?? 'warn'): Logger {
  return pino({ level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime }, sink);
}

/** Forget what earlier tests logged. */
export function clearTestLog(): void {
  lines.length = 0;
  dropped = 0;
}

/** What was logged in the process since the last clear, for a failure report. */
export function takeTestLog(): string {
  const out = `${dropped > 0 ? `(${dropped} earlier lines dropped)\n` : ''}${lines.join('\n')}`;
  clearTestLog();
  return out;
}
