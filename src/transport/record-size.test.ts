import { describe, expect, it } from 'vitest';
import { recordBytes, splitBySize, tooLarge } from './record-size.js';

describe('splitBySize', () => {
  const msg = (n: number) => ({ topic: 't', key: 'k', value: Buffer.alloc(n) });

  it('keeps each group under the limit and the order intact', () => {
    const messages = [300, 300, 300, 50, 900, 10].map(msg);
    const groups = splitBySize(messages, 800);
    expect(groups.map((g) => g.map((m) => m.value.length))).toEqual([[300, 300], [300, 50], [900], [10]]);
  });

  it('returns nothing for nothing', () => {
    expect(splitBySize([], 100)).toEqual([]);
  });

  it('counts keys and headers in UTF-8 bytes', () => {
    const m = { topic: 't', key: '漢字', value: Buffer.alloc(10), headers: { reason: 'é' } };
    expect(recordBytes(m)).toBe(10 + 6 + (6 + 2 + 10) + 96);
  });

  it('names the messages too large for the limit, by topic and size', () => {
    expect(tooLarge([msg(10), msg(20)], 1000)).toBeUndefined();
    const err = tooLarge([msg(10), { ...msg(5000), topic: 'drc.conflicts' }, msg(2000)], 1000);
    expect(err?.code).toBe('DRC_KAFKA_REJECTED');
    expect(err?.message).toBe('2 message(s) exceed kafka.maxMessageBytes and were not published (largest: 5097 bytes to drc.conflicts, limit 1000)');
  });
});
