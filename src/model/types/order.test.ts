import { describe, expect, it } from 'vitest';
import { canonicalKey } from './canonical-key.js';
import { compareImages, tiebreakOrder } from './order.js';
import { columnTypesOf } from './row.js';
import type { Row } from './wire.js';

const row = (v: string, n: number): Row => ({ id: 1, v, n });

describe('tiebreakOrder', () => {
  it('is antisymmetric and 0 only for the same values', () => {
    const images = [row('a', 1), row('b', 1), row('a', 2), { id: 1, v: null, n: 1 }, { id: 1, v: { $b: 'AA==' }, n: 1 }];
    for (const a of images) {
      for (const b of images) {
        expect(Math.sign(tiebreakOrder(a, b)) + Math.sign(tiebreakOrder(b, a))).toBe(0);
        expect(tiebreakOrder(a, b) === 0).toBe(a === b);
      }
    }
  });

  it('orders as the canonical text did before the split (code unit order of the same text)', () => {
    const pairs: [Row, Row][] = [
      [row('a', 2), row('b', 2)],
      [row('é', 1), row('z', 1)],
      [{ id: 1, v: 'x' }, { id: 1, v: { $b: 'eA==' } }],
      [{ id: 10 }, { id: 9 }],
    ];
    for (const [a, b] of pairs) {
      const x = canonicalKey(a);
      const y = canonicalKey(b);
      expect(tiebreakOrder(a, b)).toBe(x > y ? 1 : x < y ? -1 : 0);
    }
  });
});

describe('compareImages', () => {
  const V = (n: number) => String(n);
  it('orders by version first, then by the tie-break over the incoming image’s columns', () => {
    expect(compareImages(V(2), row('a', 2), V(1), row('z', 1))).toBe(1);
    expect(compareImages(V(2), row('a', 2), V(2), row('b', 2))).toBe(-1);
    expect(compareImages(V(2), row('a', 2), V(2), row('a', 2))).toBe(0);
    expect(compareImages(null, row('z', 1), V(1), row('a', 1))).toBe(-1);
    // The local row's extra columns (the target has more) take no part.
    expect(compareImages(V(1), row('a', 1), V(1), { ...row('a', 1), extra: 'zzz' })).toBe(0);
  });
});

describe('tiebreakOrder with column types (issue 12)', () => {
  const types = columnTypesOf([{ name: 'id', dataType: 'int' }, { name: 'd', dataType: 'double' }]);
  it('tells images differing only in a DOUBLE beyond float32 apart, antisymmetrically', () => {
    const a = { id: 1, d: 20000000.25 };
    const b = { id: 1, d: 20000000.75 };
    expect(tiebreakOrder(a, b)).toBe(0); // untyped: float32 precision, "keep local" (the divergence)
    expect(tiebreakOrder(a, b, types)).toBe(-1);
    expect(tiebreakOrder(b, a, types)).toBe(1);
    expect(compareImages('1', b, '1', a, types)).toBe(1);
  });
});
