import { describe, expect, it } from 'vitest';
import { formatProgress } from './bootstrap-progress.js';

describe('formatProgress', () => {
  const base = { table: 'app.t', written: 40_000, skipped: 5_000, readThisRun: 45_000, startedAt: 0, estimate: 120_000 };

  it('shows rows, the estimate, the rate of this run and an ETA from it', () => {
    expect(formatProgress(base, 5_000)).toBe('app.t  45,000 / ~120,000 rows  9,000 rows/s  ETA 9 s');
  });

  it('leaves the total and the ETA out when the estimate is unknown or already passed', () => {
    expect(formatProgress({ ...base, estimate: null }, 5_000)).toBe('app.t  45,000 rows  9,000 rows/s');
    expect(formatProgress({ ...base, estimate: 10_000 }, 5_000)).toBe('app.t  45,000 rows  9,000 rows/s');
  });

  it('counts a resumed run at its own rate (rows read this run only)', () => {
    expect(formatProgress({ ...base, readThisRun: 1_000, estimate: 1_045_000 }, 1_000)).toBe('app.t  45,000 / ~1,045,000 rows  1,000 rows/s  ETA 16 min 40 s');
  });
});
