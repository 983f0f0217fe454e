import { describe, expect, it } from 'vitest';
import { bySize, paramBytes, statementBytes } from './pipelined-session.js';

const st = (sql: string, ...params: unknown[]) => ({ sql, params });

describe('bySize', () => {
  it('keeps statements in order, in groups under the limit; a larger statement goes alone', () => {
    const a = st('INSERT a', 'x'.repeat(40));
    const b = st('INSERT b', 'y'.repeat(40));
    const big = st('INSERT big', Buffer.alloc(500));
    const c = st('UPDATE c', 1, 2);
    expect(bySize([a, b, big, c], 120)).toEqual([[a, b], [big], [c]]);
    expect(bySize([a, b, c])).toEqual([[a, b, c]]);
    expect(bySize([])).toEqual([]);
  });

  it('measures bytes as sent, not UTF-16 units: CJK text is 3 bytes a character, a Buffer travels as hex', () => {
    const cjk = '漢字'.repeat(50); // 100 UTF-16 units, 300 bytes of UTF-8
    expect(paramBytes(cjk)).toBe(302);
    expect(paramBytes('😀')).toBe(6); // two UTF-16 units, four bytes
    expect(paramBytes(Buffer.alloc(10))).toBe(23);
    expect(statementBytes(st('INSERT INTO `表` VALUES (?)', cjk))).toBe(Buffer.byteLength('INSERT INTO `表` VALUES (?)') + 302);
    // Three statements of 100 CJK characters each: ~320 bytes apiece, so at most one per 400-byte group
    // (counted in UTF-16 units they would have looked like ~120 and gone three together).
    const three = [st('INSERT a (?)', cjk), st('INSERT b (?)', cjk), st('INSERT c (?)', cjk)];
    expect(bySize(three, 400).map((g) => g.length)).toEqual([1, 1, 1]);
    expect(bySize(three, 700).map((g) => g.length)).toEqual([2, 1]);
  });
});
