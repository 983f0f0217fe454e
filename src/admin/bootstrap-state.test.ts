import { describe, expect, it } from 'vitest';
import { LowWaterMark } from './bootstrap-state.js';

describe('LowWaterMark', () => {
  it('advances only over the run of chunks completed from the start, whatever order they complete in', () => {
    const m = new LowWaterMark();
    expect(m.complete(1, ['02'], 10, 0)).toBe(false);
    expect(m.through).toBeUndefined();
    expect(m.complete(2, ['03'], 10, 1)).toBe(false);
    expect(m.complete(0, ['01'], 10, 0)).toBe(true);
    expect([m.through, m.written, m.skipped, m.chunks]).toEqual([['03'], 30, 1, 3]);
    expect(m.complete(4, ['05'], 10, 0)).toBe(false);
    expect(m.through).toEqual(['03']); // chunk 3 is still in flight: a resume starts after 03
  });

  it('continues from a recorded state (a resumed run counts on from it)', () => {
    const m = new LowWaterMark({ through: ['09'], written: 90, skipped: 2, chunks: 9 });
    expect(m.complete(0, ['0A'], 5, 0)).toBe(true);
    expect([m.through, m.written, m.skipped, m.chunks]).toEqual([['0A'], 95, 2, 10]);
  });
});
