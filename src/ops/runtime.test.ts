import { describe, expect, it } from 'vitest';
import { heapNeedMb, heapWarning } from './runtime.js';

const MB = 2 ** 20;
const config = (ezones: number, maxBufferBytes: number) => ({
  ezones: Object.fromEntries(Array.from({ length: ezones }, (_, i) => [`e${i}`, {}])) as never,
  apply: { maxBufferBytes } as never,
});

describe('heap sizing', () => {
  it('grows with the number of origins and their apply buffers', () => {
    expect(heapNeedMb(config(2, 16 * MB))).toBe(128);
    expect(heapNeedMb(config(3, 16 * MB))).toBe(176);
    expect(heapNeedMb(config(2, 64 * MB))).toBe(272);
  });

  it('warns when the heap limit is below the need, and only then', () => {
    expect(heapWarning(config(2, 16 * MB), 192 * MB)).toBeUndefined();
    expect(heapWarning(config(4, 16 * MB), 192 * MB)).toEqual({ limitMb: 192, needMb: 224 });
  });
});
