/**
 * One block per type family: edge values as zongji (binlog) and mysql2 (queries) decode them, their
 * wire form, the parameter bound back, comparison and canonical text. Tests named "issue 12" pin a
 * known defect as it behaves today; fixing it (issue 12) changes that test and no other.
 */
import { describe, expect, it } from 'vitest';
import { anyColumn } from './any-value.js';
import { TypeCode, type ColumnMeta } from './column-meta.js';
import type { ColumnType } from './family.js';
import { geometryFamily } from './geometry.js';
import { inet4Bytes, inet6Bytes, uuidBytes } from './inet-uuid.js';
import { latin1Decode, latin1Encode } from './latin1.js';
import { columnType, FAMILIES } from './registry.js';
import type { WireValue } from './wire.js';

const T = TypeCode;
const b64 = (bytes: number[]) => ({ $b: Buffer.from(bytes).toString('base64') });

/** Each binlog value decodes to `wire`, binds back as `param` (default: the value itself), and equals itself. */
function roundTrips(type: ColumnType, cases: [binlog: unknown, wire: WireValue, param?: unknown][]): void {
  for (const [binlog, wire, param] of cases) {
    const w = type.fromBinlog(binlog);
    expect(w).toEqual(wire);
    expect(type.fromQuery(binlog)).toEqual(wire);
    expect(type.toParam(w)).toEqual(param === undefined ? binlog ?? null : param);
    expect(type.same(w, JSON.parse(JSON.stringify(w)) as WireValue)).toBe(true);
    expect(type.keyText(w)).toEqual(type.orderText(w));
  }
}

const NULLS: [unknown, WireValue, unknown][] = [
  [null, null, null],
  [undefined, null, null],
];

describe('every family', () => {
  const samples: unknown[] = [null, undefined, 0, -1, 1.5, 1.1, '1', 'text', '', Buffer.from([0, 1]), Buffer.alloc(0), true, 10n, { x: 1, y: 2 }, new Date(0)];
  const metas: ColumnMeta[] = [
    ...Object.values(T).map((typeCode) => ({ typeCode })),
    { typeCode: T.VARCHAR, charset: 'utf8mb4' },
    { typeCode: T.BLOB, charset: null },
  ];

  /** Families issue 12 fixed differ from the type-agnostic family by design (their own blocks below). */
  const FIXED = new Set<string>(['float', 'year', 'enum-set']);

  it('behaves exactly as the type-agnostic family, except where issue 12 fixed the family', () => {
    for (const meta of metas) {
      const type = columnType(meta);
      if (FIXED.has(type.family)) continue;
      for (const v of samples) {
        const w = anyColumn.fromBinlog(v);
        expect(type.fromBinlog(v)).toEqual(w);
        expect(type.fromQuery(v)).toEqual(w);
        expect(type.toParam(w)).toEqual(anyColumn.toParam(w));
        expect(type.keyText(w)).toEqual(anyColumn.keyText(w));
        expect(type.orderText(w)).toEqual(anyColumn.orderText(w));
        expect(type.version(w)).toEqual(anyColumn.version(w));
        for (const u of samples) expect(type.same(w, anyColumn.fromBinlog(u))).toBe(anyColumn.same(w, anyColumn.fromBinlog(u)));
      }
    }
  });

  it('is registered once per name', () => {
    expect(new Set(FAMILIES.map((f) => f.name)).size).toBe(FAMILIES.length);
  });
});

describe('integer', () => {
  const type = columnType({ typeCode: T.LONGLONG });
  it('keeps min, max, zero and NULL exact (beyond 2^53 as text)', () => {
    roundTrips(type, [[-128, -128], [0, 0], [9007199254740991, 9007199254740991], ['18446744073709551615', '18446744073709551615'], ['-9223372036854775808', '-9223372036854775808'], ...NULLS]);
  });
  it('treats a number and its exact text as one value, and reads versions as big integers', () => {
    expect(type.same(42, '42')).toBe(true);
    expect(type.keyText(42)).toBe(type.keyText('42'));
    expect(type.version('18446744073709551615')).toBe('18446744073709551615');
    expect(type.version(0)).toBe('0');
    expect(type.clockVersion).toBe(false);
  });
});

describe('decimal', () => {
  const type = columnType({ typeCode: T.NEWDECIMAL });
  it('carries the server’s exact text', () => {
    roundTrips(type, [['-12345678901234567890.0123456789', '-12345678901234567890.0123456789'], ['0.0000000001', '0.0000000001'], ['0.00', '0.00'], ...NULLS]);
    expect(type.same('1.50', '1.5')).toBe(false); // the server prints one scale per column
    const max = '-99999999999999999999999999999999999.999999999999999999999999999999'; // DECIMAL(65,30)
    roundTrips(type, [[max, max], ['99999999999999999999999999999999999999999999999999999999999999999', '99999999999999999999999999999999999999999999999999999999999999999'], ['-1', '-1']]);
    expect(type.keyText(max)).toBe(max);
    expect(type.same('0.0', '-0.0')).toBe(false); // text as the server printed it
  });
});

describe('float', () => {
  const float = columnType({ typeCode: T.FLOAT });
  const double = columnType({ typeCode: T.DOUBLE });
  it('keeps values as numbers, and FLOAT’s binlog float32 equals its query text', () => {
    roundTrips(double, [[3.141592653589793, 3.141592653589793], [1.7976931348623157e308, 1.7976931348623157e308], [0, 0], [-2.2250738585072014e-308, -2.2250738585072014e-308], ...NULLS]);
    expect(float.same(1.100000023841858, 1.1)).toBe(true);
    expect(float.keyText(1.100000023841858)).toBe(float.keyText(1.1));
  });
  it('issue 12: DOUBLE compares, keys and orders exactly (it used to at float32 precision)', () => {
    expect(double.same(20000000.25, 20000000.75)).toBe(false);
    expect(double.same(20000000.25, 20000000.25)).toBe(true);
    expect(double.keyText(20000000.25)).toBe('20000000.25');
    expect(double.keyText(20000000.75)).toBe('20000000.75');
    expect(double.orderText(20000000.75)).toBe('20000000.75');
    expect(double.same(0.30000000000000004, 0.3)).toBe(false);
    expect(double.keyText(5e-324)).toBe('5e-324');
    // Values a float32 holds, and integers, key exactly as before (persisted tombstone keys).
    for (const v of [1.5, -0.5, 0, 42, 9007199254740991, 16777217]) expect(double.keyText(v)).toBe(anyColumn.keyText(v));
    // The server never stores -0; one text for 0 whatever its sign.
    expect(double.keyText(-0)).toBe('0');
    expect(double.same(-0, 0)).toBe(true);
  });
  it('keeps FLOAT at float32: its binlog value, a plain query’s short text and CAST(… AS DOUBLE) agree', () => {
    // MariaDB prints FLOAT with 6 significant digits (16777216 → 16777200): read it as CAST(col AS DOUBLE).
    expect(float.readExpression?.('`f`')).toBe('IF(`f` = 0 AND ATAN2(`f`, -1) < 0, -1e-50, CAST(`f` AS DOUBLE))');
    expect(double.readExpression).toBeUndefined();
    expect(float.fromQuery(1.1)).toBe(1.100000023841858);
    expect(float.fromQuery(16777216)).toBe(16777216);
    expect(float.same(16777216, 16777218)).toBe(false);
    expect(float.keyText(1.1)).toBe('1.100000023841858');
    expect(float.same(null, 0)).toBe(false);
  });
  it('carries a FLOAT -0 as the text -0 (JSON has no -0), writes it as an underflow (the server stores -0), compares it as the text -0 (matches the stored -0); keys it as 0', () => {
    expect(float.fromBinlog(-0)).toBe('-0');
    expect(float.fromQuery(-1e-50)).toBe('-0'); // readExpression's form of -0
    expect(float.fromBinlog(0)).toBe(0);
    expect(JSON.parse(JSON.stringify({ v: float.fromBinlog(-0) })).v).toBe('-0');
    expect(float.toWritten!('-0')).toBe(-1e-50);
    expect(float.toWritten!(1.5)).toBe(1.5);
    expect(float.toParam('-0')).toBe('-0'); // WHERE f = -1e-50 matches no row holding -0
    expect(float.toParam(1.5)).toBe(1.5);
    expect(float.keyText('-0')).toBe(float.keyText(0));
    expect(float.same('-0', 0)).toBe(true);
  });
  it('tells FLOAT(p ≤ 24) from DOUBLE, REAL and FLOAT(p > 24) by type code and information_schema', () => {
    expect(columnType({ dataType: 'float', columnType: 'float' }).same(20000000.25, 20000000.75)).toBe(true);
    for (const meta of [{ dataType: 'double' }, { dataType: 'real' }, { typeCode: T.DOUBLE }, { dataType: 'double', columnType: 'double' }]) {
      expect(columnType(meta).same(20000000.25, 20000000.75)).toBe(false);
    }
  });
});

describe('temporal', () => {
  const type = columnType({ typeCode: T.DATETIME2 });
  const time = columnType({ typeCode: T.TIME2 });
  it('carries date and time text with every fractional digit', () => {
    roundTrips(type, [['2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.123456'], ['0000-00-00 00:00:00', '0000-00-00 00:00:00'], ['1000-01-01', '1000-01-01'], ['9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999'], ...NULLS]);
    roundTrips(time, [['-838:59:59.000000', '-838:59:59.000000'], ['838:59:59', '838:59:59'], ['00:00:00', '00:00:00'], ...NULLS]);
  });
  it('reads points in time as epoch-microsecond versions comparable with commit times; TIME is none', () => {
    expect(type.clockVersion).toBe(true);
    expect(type.version('2024-01-02 00:00:00.5')).toBe(String(Date.UTC(2024, 0, 2) * 1000 + 500_000));
    expect(type.version('0000-00-00 00:00:00')).toBe('0');
    expect(time.clockVersion).toBe(false);
    expect(time.version('-838:59:59.000000')).toBeUndefined();
  });
});

describe('year', () => {
  const type = columnType({ typeCode: T.YEAR });
  it('carries the year as a number', () => {
    roundTrips(type, [[1901, 1901], [2155, 2155], ...NULLS]);
  });
  it('issue 12: YEAR 0000, which zongji decodes as 1900 (lib/common.js `result = raw + 1900`), ships as 0', () => {
    expect(type.fromBinlog(1900)).toBe(0);
    expect(type.fromQuery(0)).toBe(0); // mysql2 reads '0000' as 0
    expect(type.toParam(0)).toBe(0); // a numeric 0 stores '0000' (the text '0' would store 2000)
    expect(type.same(type.fromBinlog(1900), type.fromQuery(0))).toBe(true);
    expect(type.fromBinlog(1901)).toBe(1901);
    expect(type.fromBinlog(2155)).toBe(2155);
  });
});

describe('text', () => {
  const type = columnType({ typeCode: T.VARCHAR, charset: 'utf8mb4' });
  it('carries any text exactly, empty distinct from NULL', () => {
    roundTrips(type, [['chär', 'chär'], ['ünïcødé ✓ "q" \\', 'ünïcødé ✓ "q" \\'], ['😀 漢字', '😀 漢字'], ['', ''], ['x'.repeat(70_000), 'x'.repeat(70_000)], ...NULLS]);
    expect(type.same('', null)).toBe(false);
  });
  it('issue 12: identity ignores the collation (alice and Alice are two keys under _ci)', () => {
    expect(columnType({ typeCode: T.VARCHAR, charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }).keyText('alice')).not.toBe(type.keyText('Alice'));
  });
});

describe('text in other charsets (issue 12)', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  it('latin1.ts: the server’s own latin1 table, a bijection (0x81 0x8D 0x8F 0x90 0x9D are C1 controls, not U+FFFD)', () => {
    expect(latin1Decode(Buffer.from([0x80, 0x81, 0x8d, 0x8f, 0x90, 0x9d, 0x9f, 0xe9]))).toBe('€\u0081\u008d\u008f\u0090\u009d\u0178é');
    expect(latin1Encode(latin1Decode(all))).toEqual(all);
    expect(new Set(latin1Decode(all)).size).toBe(256);
    expect(latin1Encode('漢')).toBeUndefined();
  });
  it('any other charset: the column’s bytes, bound back as a Buffer', () => {
    for (const charset of ['latin1', 'ascii', 'sjis', 'cp932', 'gbk', 'big5', 'euckr', 'cp1250', 'ucs2', 'utf16', 'utf32']) {
      const type = columnType({ typeCode: T.BLOB, charset });
      const bytes = Buffer.from([0x83, 0x5c, 0x81, 0x40, 0]);
      expect(type.fromBinlog(bytes)).toEqual({ $b: bytes.toString('base64') });
      expect(type.toParam(type.fromBinlog(bytes))).toEqual(bytes);
    }
  });
  it('utf8mb4 and utf8mb3 stay text', () => {
    expect(columnType({ typeCode: T.VARCHAR, charset: 'utf8mb3' }).fromBinlog('é')).toBe('é');
    expect(columnType({ typeCode: T.BLOB, charset: 'utf8mb4' }).fromBinlog('😀e\u0301')).toBe('😀e\u0301');
  });
});

describe('inet-uuid (MariaDB UUID, INET4, INET6)', () => {
  const uuid = columnType({ dataType: 'uuid' });
  it('travels as the stored bytes, from the binlog (a Buffer) and from a query (text read as bytes)', () => {
    const bytes = Buffer.from('6ccd780cbaba102695645b8c656024db', 'hex');
    expect(uuid.fromBinlog(bytes)).toEqual({ $b: bytes.toString('base64') });
    expect(uuidBytes('6ccd780c-baba-1026-9564-5b8c656024db')).toEqual(bytes);
    expect(inet4Bytes('1.2.3.255')).toEqual(Buffer.from([1, 2, 3, 255]));
    expect(inet4Bytes('1.2.3.256')).toBeUndefined();
    expect(inet6Bytes('::')).toEqual(Buffer.alloc(16));
    expect(inet6Bytes('::1')?.toString('hex')).toBe('00000000000000000000000000000001');
    expect(inet6Bytes('::ffff:1.2.3.4')?.toString('hex')).toBe('00000000000000000000ffff01020304');
    expect(inet6Bytes('2001:db8::8a2e:370:7334')?.toString('hex')).toBe('20010db80000000000008a2e03707334');
    expect(inet6Bytes('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')?.toString('hex')).toBe('f'.repeat(32));
    expect(inet6Bytes('1::2::3')).toBeUndefined();
  });
});

describe('binary', () => {
  const type = columnType({ typeCode: T.STRING, charset: null, columnType: 'binary(4)' });
  it('carries bytes as base64, trailing zeros and emptiness kept', () => {
    roundTrips(type, [
      [Buffer.from([0, 0xff, 0, 1]), b64([0, 0xff, 0, 1])],
      [Buffer.from([1, 0, 0, 0]), b64([1, 0, 0, 0])],
      [Buffer.alloc(0), { $b: '' }],
      ...NULLS,
    ]);
    expect(type.same(b64([1, 0, 0, 0]), b64([1]))).toBe(false);
    expect(type.same({ $b: '' }, '')).toBe(false);
    expect(type.keyText({ $b: 'AA==' })).not.toEqual(type.keyText('AA=='));
  });
});

describe('enum-set', () => {
  const type = columnType({ typeCode: T.ENUM });
  it('carries member text; an empty SET is empty text', () => {
    roundTrips(type, [['b', 'b'], ['x,z', 'x,z'], ['', ''], [null, null, null]]);
  });
  it('issue 12: ENUM index 0, which zongji decodes as undefined (lib/common.js:682 choices[raw - 1]), ships as \'\'', () => {
    expect(type.fromBinlog(undefined)).toBe('');
    expect(type.fromBinlog(null)).toBeNull();
    expect(type.toParam('')).toBe('');
  });
});

describe('bit', () => {
  const type = columnType({ typeCode: T.BIT });
  it('carries the column’s bytes', () => {
    roundTrips(type, [[Buffer.from([0b10, 0b10101010]), b64([0b10, 0b10101010])], [Buffer.from([0]), b64([0])], [Buffer.alloc(8, 0xff), b64(Array(8).fill(0xff))], ...NULLS]);
    roundTrips(type, [[Buffer.from([1]), b64([1])], [Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 1]), b64([0x80, 0, 0, 0, 0, 0, 0, 1])]]);
    expect(type.same(b64([0]), b64([1]))).toBe(false);
    expect(type.keyText(b64([1]))).not.toEqual(type.keyText(b64([0])));
  });
});

describe('json', () => {
  const type = columnType({ typeCode: T.JSON });
  it('carries the document’s text with 64-bit integers exact', () => {
    const doc = '{"k": [1, 2.5, "s", null, {"n": 18446744073709551615}]}';
    roundTrips(type, [[doc, doc], ['null', 'null'], ['""', '""'], ...NULLS]);
  });
  it('issue 12: compares as text, so one document printed two ways is two values', () => {
    expect(type.same('{"a":1}', '{"a": 1}')).toBe(false);
  });
});

describe('geometry', () => {
  const type = columnType({ typeCode: T.GEOMETRY });
  // POINT(1 2) with SRID 4326, as the server stores it: SRID (LE), then WKB.
  const point = Buffer.from('e6100000010100000000000000000000f03f0000000000000040', 'hex');
  it('issue 12: a point ships as SRID + WKB bytes (zongji-patches.ts hands them over) and binds back as them', () => {
    roundTrips(type, [[point, { $b: point.toString('base64') }], [Buffer.from('00000000010700000000000000', 'hex'), b64([0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0])], ...NULLS]);
    expect(type.same({ $b: point.toString('base64') }, { $b: Buffer.from('00000000010100000000000000000000f03f0000000000000040', 'hex').toString('base64') })).toBe(false);
  });
  it('reads query fields as their bytes, not mysql2’s parsed object', () => {
    expect(geometryFamily.readField?.({ type: 'GEOMETRY', name: 'g', string: () => null, buffer: () => point, geometry: () => ({ x: 1, y: 2 }) }, () => null)).toBe(point);
  });
});
