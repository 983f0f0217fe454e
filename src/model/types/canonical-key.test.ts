import { describe, expect, it } from 'vitest';
import { canonicalRow } from '../value.js';
import { canonicalKey, keyFromJson } from './canonical-key.js';
import { TypeCode } from './column-meta.js';
import { columnTypesOf } from './row.js';
import type { Row } from './wire.js';

/**
 * Pinned: these texts are persisted (drc_meta tombstones' key_json and key_hash) and are Kafka
 * message keys. A change here is a data migration, not a refactor (see canonical-key.ts).
 */
const PINNED: [Row, string][] = [
  [{ id: 1 }, '[["id","1"]]'],
  [{ id: '18446744073709551615' }, '[["id","18446744073709551615"]]'],
  [{ b: 'x', a: 1 }, '[["a","1"],["b","x"]]'],
  [{ k: 'chär ✓ "q" \\', n: null, e: '' }, '[["e",""],["k","chär ✓ \\"q\\" \\\\"],["n",null]]'],
  [{ f: 1.1, d: 3.141592653589793, neg: -0.5, big: 9007199254740991 }, '[["big","9007199254740991"],["d","3.1415927410125732"],["f","1.100000023841858"],["neg","-0.5"]]'],
  [{ bin: { $b: 'AP8AAQ==' }, empty: { $b: '' }, t: true, dt: '2024-02-29 23:59:59.123456' }, '[["bin",["b","AP8AAQ=="]],["dt","2024-02-29 23:59:59.123456"],["empty",["b",""]],["t","true"]]'],
];

describe('canonicalKey', () => {
  it('writes exactly the pinned text for each key', () => {
    for (const [row, text] of PINNED) expect(canonicalKey(row)).toBe(text);
  });

  it('writes the same text when the columns’ types are known (every family keys as before, except DOUBLE: exact)', () => {
    const types = columnTypesOf([
      { name: 'id', typeCode: TypeCode.LONGLONG },
      { name: 'a', typeCode: TypeCode.LONG },
      { name: 'b', typeCode: TypeCode.VARCHAR, charset: 'utf8mb4' },
      { name: 'k', typeCode: TypeCode.VARCHAR, charset: 'latin1' },
      { name: 'n', typeCode: TypeCode.DATETIME2 },
      { name: 'e', typeCode: TypeCode.ENUM },
      { name: 'f', typeCode: TypeCode.FLOAT },
      { name: 'd', typeCode: TypeCode.DOUBLE },
      { name: 'neg', typeCode: TypeCode.NEWDECIMAL },
      { name: 'big', typeCode: TypeCode.LONGLONG },
      { name: 'bin', typeCode: TypeCode.STRING, charset: null },
      { name: 'empty', typeCode: TypeCode.BLOB, charset: null },
      { name: 't', typeCode: TypeCode.TINY },
      { name: 'dt', typeCode: TypeCode.DATETIME2 },
    ]);
    // Issue 12: a DOUBLE keys exactly; its text changes only for values no float32 holds (README).
    const exact = (text: string) => text.replace('["d","3.1415927410125732"]', '["d","3.141592653589793"]');
    for (const [row, text] of PINNED) expect(canonicalKey(row, types)).toBe(exact(text));
    expect(canonicalKey({ d: 20000000.25 }, types)).not.toBe(canonicalKey({ d: 20000000.75 }, types));
  });

  it('is what the deprecated canonicalRow still returns', () => {
    for (const [row, text] of PINNED) expect(canonicalRow(row)).toBe(text);
  });

  it('is independent of column order and of number-vs-text for one integer; NULL, empty and bytes stay distinct', () => {
    expect(canonicalKey({ a: 1, b: 'x' })).toBe(canonicalKey({ b: 'x', a: '1' }));
    expect(canonicalKey({ a: null })).not.toBe(canonicalKey({ a: '' }));
    expect(canonicalKey({ a: { $b: 'AA==' } })).not.toBe(canonicalKey({ a: 'AA==' }));
  });
});

describe('keyFromJson', () => {
  it("reads a tombstone's stored key text back as the key row", () => {
    expect(keyFromJson(canonicalKey({ id: 13 }), ['id'])).toEqual({ id: '13' });
    expect(keyFromJson(canonicalKey({ b: 'x', a: 2 }), ['a', 'b'])).toEqual({ a: '2', b: 'x' });
    expect(keyFromJson(canonicalKey({ k: { $b: 'AAE=' } }), ['k'])).toEqual({ k: { $b: 'AAE=' } });
  });

  it('gives up on anything else: not JSON, a missing key column, an unknown part', () => {
    expect(keyFromJson('nope', ['id'])).toBeUndefined();
    expect(keyFromJson(canonicalKey({ id: 1 }), ['id', 'other'])).toBeUndefined();
    expect(keyFromJson('[["id",{"x":1}]]', ['id'])).toBeUndefined();
    expect(keyFromJson('[["id",null]]', ['id'])).toBeUndefined();
  });
});
