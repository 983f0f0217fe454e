import { describe, expect, it } from 'vitest';
import { holdReason } from './bootstrap-throttle.js';

describe('holdReason', () => {
  const limits = { maxLagMs: 5000, maxSourceThreads: 32 };

  it('lets the copy go while the target keeps up and the source is not busy', () => {
    expect(holdReason({ lagMs: 1200, sourceThreads: 4 }, limits)).toBeUndefined();
    expect(holdReason({ lagMs: 5000, sourceThreads: 32 }, limits)).toBeUndefined(); // at the limits, not over
  });

  it("holds it while the target's apply lag or the source's running threads are over their limits, saying which", () => {
    expect(holdReason({ lagMs: 5001, sourceThreads: 4 }, limits)).toBe("the target's apply lag (5001 ms) is over --max-lag-ms 5000");
    expect(holdReason({ lagMs: 10, sourceThreads: 33 }, limits)).toBe('the source runs 33 threads, over --max-source-threads 32');
  });

  it('names the origin the target is behind when it knows it', () => {
    expect(holdReason({ lagMs: 7000, sourceThreads: 4, behind: 'b' }, limits)).toBe("the target's apply lag (7000 ms, behind ezone b) is over --max-lag-ms 5000");
  });

  it('never holds for the source when its limit is 0', () => {
    expect(holdReason({ lagMs: 10, sourceThreads: 500 }, { ...limits, maxSourceThreads: 0 })).toBeUndefined();
  });
});
