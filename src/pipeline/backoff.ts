/**
 * Exponential backoff with ±25 % jitter: `baseMs · 2^min(attempt, maxExponent)`, at most `capMs`
 * before jitter. Shared by every stage that retries.
 */
export function backoffMs(attempt: number, baseMs: number, maxExponent: number, capMs = 10_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, maxExponent)) * (0.75 + Math.random() / 2);
}
