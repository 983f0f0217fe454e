import { describe, expect, it } from 'vitest';
import { chunkRetryBudgetMs, retryAgain } from './bootstrap-copy.js';

describe("a chunk's retries last as long as the lag the throttle allows", () => {
  it('retries past the first ten attempts while within --max-lag-ms plus 30 s', () => {
    const budget = chunkRetryBudgetMs(60_000);
    expect(budget).toBe(90_000);
    expect(retryAgain(12, 45_000, budget)).toBe(true); // a parent on a stream 60 s behind: still coming
    expect(retryAgain(12, 90_001, budget)).toBe(false);
  });

  it('always makes the first ten attempts', () => {
    expect(retryAgain(3, 1_000_000, chunkRetryBudgetMs(0))).toBe(true);
    expect(retryAgain(10, 31_000, chunkRetryBudgetMs(0))).toBe(false);
  });
});
