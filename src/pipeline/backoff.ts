/**
 * Exponential backoff with ±25 % jitter: `baseMs · 2^min(attempt, maxExponent)`, at most `capMs`
 * before jitter. Shared by every stage that retries.
 */
export function backoffMs(attempt: number, baseMs: number, maxExponent: number, capMs = 10_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, maxExponent)) * (0.75 + Math.random() / 2);
}

/**
 * The supervisor's delay before retry number `failures` (1 = the first): `initialMs · 2^(failures-1)`
 * jittered ±25 % so that streams failing together do not retry in step, and never above `maxMs`.
 */
export function retryDelayMs(failures: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(maxMs, exponential * (0.75 + random() / 2));
}
