import { describe, expect, it } from 'vitest';
import { compareImages } from '../model/types/order.js';
import { compareRanks, justBelow, rankOf, RANK_TEXT_UNITS } from './unique-claims.js';

describe('claim ranks', () => {
  it('order like last-writer-wins: version first, then the tie-break of the images', () => {
    const a = { id: 1, who: 'a' };
    const b = { id: 1, who: 'b' };
    expect(compareRanks(rankOf('2', a), rankOf('1', b))).toBeGreaterThan(0);
    expect(Math.sign(compareRanks(rankOf('5', a), rankOf('5', b)))).toBe(Math.sign(compareImages('5', a, '5', b)));
    expect(compareRanks(rankOf(null, b), rankOf('1', a))).toBeLessThan(0); // null lowest
    expect(compareRanks(rankOf('3', a), rankOf('3', { ...a }))).toBe(0);
  });

  it('keep the tie-break order beyond the stored prefix (the hash decides between long texts equal at the start)', () => {
    const long = 'x'.repeat(RANK_TEXT_UNITS * 2);
    const a = rankOf('1', { v: `${long}a` });
    const b = rankOf('1', { v: `${long}b` });
    expect(a.text.equals(b.text)).toBe(true);
    expect(compareRanks(a, b)).not.toBe(0);
    expect(compareRanks(a, b)).toBe(-compareRanks(b, a));
  });

  it('store the prefix as UTF-16BE: byte order is JavaScript code-unit order, also beyond the BMP', () => {
    const astral = rankOf('1', { v: '\u{1F600}' }); // surrogates D83D DE00
    const high = rankOf('1', { v: '\uFFFD' });
    expect(Math.sign(compareRanks(astral, high))).toBe(Math.sign(compareImages('1', { v: '\u{1F600}' }, '1', { v: '\uFFFD' })));
  });

  it('a removed image is tombstoned just below its version', () => {
    expect(justBelow('1000')).toBe('999');
    expect(justBelow(null)).toBeUndefined();
  });
});
