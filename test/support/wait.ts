/**
 * Polling instead of fixed sleeps: a test waits for the condition it needs, as long as it needs and
 * no longer, and a timeout says what was awaited and what was last seen (not just "timed out").
 */
import { inspect } from 'node:util';

export interface WaitOptions<T> {
  /** What is awaited, in words: the failure message starts with it. */
  what: string;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between two checks (default 100 ms). */
  intervalMs?: number;
  /** When the check's value counts as done (default: truthy). */
  until?: (value: T) => boolean;
  /**
   * Treat a check that throws as "not yet" (for probes of a server that is still starting, such as
   * a refused connection). Off by default: an assertion failing inside the check fails at once.
   */
  ignoreErrors?: boolean;
  /** Checked before each attempt: a reason to stop waiting at once (e.g. the daemon exited). */
  abort?: () => string | undefined;
}

/** The error of a wait that timed out or was aborted; `last` holds the last value seen. */
export class WaitTimeout extends Error {
  constructor(
    message: string,
    readonly last: unknown,
  ) {
    super(message);
    this.name = 'WaitTimeout';
  }
}

const show = (value: unknown) => inspect(value, { depth: 4, breakLength: Infinity, maxStringLength: 2000 });

/** Poll `check` until its value satisfies `until` (default: truthy); resolves to that value. */
export async function waitFor<T>(check: () => T | Promise<T>, options: WaitOptions<T>): Promise<T> {
  const { what, timeoutMs = 30_000, intervalMs = 100, until = Boolean, ignoreErrors = false } = options;
  const started = Date.now();
  let last: { value?: T; error?: unknown } = {};
  for (;;) {
    const aborted = options.abort?.();
    if (aborted) throw new WaitTimeout(`gave up waiting for ${what}: ${aborted}; last ${describeLast(last)}`, last.value);
    try {
      const value = await check();
      last = { value };
      if (until(value)) return value;
    } catch (error) {
      if (!ignoreErrors) throw error;
      last = { error };
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) throw new WaitTimeout(`timed out after ${elapsed} ms waiting for ${what}; last ${describeLast(last)}`, last.value);
    await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - elapsed)));
  }
}

function describeLast(last: { value?: unknown; error?: unknown }): string {
  if ('error' in last) return `error: ${last.error instanceof Error ? last.error.message : show(last.error)}`;
  if ('value' in last) return `value: ${show(last.value)}`;
  return 'value: (none: never checked)';
}

/**
 * `waitFor` for a yes/no probe, in the shape the suites used first: `eventually('what', probe, ms)`.
 */
export async function eventually(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  await waitFor(probe, { what, timeoutMs });
}

/**
 * Let time pass on purpose (a pause scenario's duration, a writer kept busy meanwhile). Not for
 * waiting on a condition: use `waitFor` for that.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
