import { describe, expect, it } from 'vitest';
import type { RowChange, Transaction } from './change.js';
import { ChunkEncoder, decodeChunk, decodeMessage, encodeTransaction, EnvelopeError, isFinalChunk } from './envelope.js';
import { canonicalKey, fromWire, sameValue, toWire, toWireRow, type Row } from './value.js';

/** One row per MySQL type family, as zongji/mysql2 decode them (dateStrings, jsonStrings, UTC). */
const FAMILIES: Record<string, unknown> = {
  tinyint: -128,
  bigintSafe: 9007199254740991,
  bigintBeyond53: '18446744073709551615',
  bigintNegative: '-9223372036854775808',
  float: 1.5,
  double: 3.141592653589793,
  decimal: '-12345678901234567890.0123456789',
  decimalTiny: '0.0000000001',
  datetime6: '2024-02-29 23:59:59.123456',
  timestamp6: '2038-01-19 03:14:07.999999',
  zeroDate: '0000-00-00 00:00:00',
  date: '1000-01-01',
  time6: '-838:59:59.000000',
  year: 2155,
  char: 'chär',
  varchar: 'ünïcødé ✓ "quoted" \\ back',
  emptyString: '',
  text: 'x'.repeat(70_000),
  binary: Buffer.from([0, 0xff, 0, 1]),
  emptyBinary: Buffer.alloc(0),
  blob: Buffer.from('\u0000\u0001binary\u00ff', 'latin1'),
  enum: 'b',
  set: 'x,z',
  json: '{"k": [1, 2.5, "s", null, {"n": 18446744073709551615}]}',
  bit: Buffer.from([0b10, 0b10101010]),
  null: null,
};

const change = (after: Row): RowChange => ({ schema: 's', table: 't', op: 'insert', key: { id: 1 }, after, version: '1700000000000000' });
const tx = (changes: RowChange[]): Transaction => ({ origin: 'a', id: '1-1-9', position: '1-1-9', commitTime: 1_700_000_000_000, changes });

describe('wire values', () => {
  for (const [family, value] of Object.entries(FAMILIES)) {
    it(`round-trips ${family} exactly through the envelope`, () => {
      const after = toWireRow({ id: 1, v: value });
      const [message] = encodeTransaction(tx([change(after)]), 1 << 20);
      const decoded = decodeChunk(message!).changes[0]!.after!;
      expect(decoded).toEqual(after);
      expect(fromWire(decoded.v!)).toEqual(value);
      expect(sameValue(decoded.v!, after.v!)).toBe(true);
    });
  }

  it('keeps NULL and empty distinct', () => {
    expect(toWire(null)).toBeNull();
    expect(toWire('')).toBe('');
    expect(toWire(Buffer.alloc(0))).toEqual({ $b: '' });
    expect(sameValue(null, '')).toBe(false);
    expect(sameValue({ $b: '' }, '')).toBe(false);
  });

  it('canonical form is independent of key order and of number-vs-text for the same integer', () => {
    expect(canonicalKey({ a: 1, b: 'x' })).toBe(canonicalKey({ b: 'x', a: '1' }));
    expect(canonicalKey({ a: null })).not.toBe(canonicalKey({ a: '' }));
    expect(canonicalKey({ a: { $b: 'AA==' } })).not.toBe(canonicalKey({ a: 'AA==' }));
  });
});

describe('chunking', () => {
  const rows = Array.from({ length: 500 }, (_, i) => change(toWireRow({ id: i, pad: 'p'.repeat(200) })));

  it('splits a transaction into chunks under the size limit and reassembles it in order', () => {
    const messages = encodeTransaction(tx(rows), 10_000);
    expect(messages.length).toBeGreaterThan(10);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(10_000);
    const chunks = messages.map((m) => decodeChunk(m));
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    expect(chunks.map((c) => c.last)).toEqual(chunks.map((_, i) => i === chunks.length - 1));
    expect(chunks.flatMap((c) => c.changes)).toEqual(rows);
    expect(messages.map(isFinalChunk)).toEqual(chunks.map((c) => c.last));
  });

  it('puts the end position on the final chunk only', () => {
    const enc = new ChunkEncoder({ origin: 'a', id: '1-1-5', position: '1-1-4', commitTime: 1 }, 2_000);
    const early = rows.slice(0, 20).flatMap((r) => enc.add(r));
    const [last, ...more] = enc.finish({ position: '1-1-5', commitTime: 2 });
    expect(more).toEqual([]);
    expect(early.length).toBeGreaterThan(0);
    expect(early.map((m) => decodeChunk(m).pos)).toEqual(early.map(() => '1-1-4'));
    expect(decodeChunk(last!)).toMatchObject({ pos: '1-1-5', ts: 2, last: true });
  });
});

describe('version 1 messages (already on Kafka before version 2)', () => {
  it('still decode', () => {
    const v1 = '{"v":1,"kind":"tx","origin":"a","id":"1-1-1","pos":"1-1-1","ts":5,"seq":0,"last":true,"changes":[{"schema":"s","table":"t","op":"insert","key":{"id":1},"after":{"id":1,"b":{"$b":"AP8="}}}]}';
    expect(decodeChunk(Buffer.from(v1))).toMatchObject({ v: 1, id: '1-1-1', last: true, changes: [{ after: { id: 1, b: { $b: 'AP8=' } } }] });
    expect(isFinalChunk(Buffer.from(v1))).toBe(true);
  });
});

describe('decoding bad input', () => {
  const cases: [string, string | null, RegExp][] = [
    ['empty', null, /empty message/],
    ['not JSON', '{oops', /not JSON/],
    ['future version', '{"v":3,"kind":"tx"}', /unsupported envelope version 3/],
    ['joined in version 1', '{"v":1,"kind":"tx","origin":"a","id":"x","pos":"","ts":1,"seq":0,"last":true,"joined":1,"changes":[]}', /not in version 1/],
    ['a chunk with trailing bytes', '{"v":2,"kind":"tx","origin":"a","id":"x","pos":"","ts":1,"seq":0,"last":true,"changes":[]}\nxx', /not JSON/],
    ['a piece without bytes', '{"v":2,"kind":"piece","origin":"a","id":"x","pos":"","ts":1,"seq":0,"last":false,"size":4,"at":0}', /without its bytes/],
    ['a piece past its size', '{"v":2,"kind":"piece","origin":"a","id":"x","pos":"","ts":1,"seq":0,"last":false,"size":4,"at":2}\nabc', /runs past/],
    ['a piece of absurd size', '{"v":2,"kind":"piece","origin":"a","id":"x","pos":"","ts":1,"seq":0,"last":false,"size":1e15,"at":0}\nabc', /invalid envelope at size/],
    ['a final piece', '{"v":2,"kind":"piece","origin":"a","id":"x","pos":"","ts":1,"seq":0,"last":true,"size":4,"at":0}\nabc', /invalid envelope at last/],
    ['missing field', '{"v":1,"kind":"tx","origin":"a","pos":"","ts":1,"seq":0,"last":true,"changes":[]}', /invalid envelope at id/],
    [
      'delete without before-image',
      '{"v":1,"kind":"tx","origin":"a","id":"x","pos":"","ts":1,"seq":0,"last":true,"changes":[{"schema":"s","table":"t","op":"delete","key":{"id":1}}]}',
      /needs a before-image/,
    ],
    [
      'change without key',
      '{"v":1,"kind":"tx","origin":"a","id":"x","pos":"","ts":1,"seq":0,"last":true,"changes":[{"schema":"s","table":"t","op":"insert","key":{},"after":{}}]}',
      /needs a primary key/,
    ],
  ];
  for (const [name, input, message] of cases) {
    it(`rejects ${name} with a stable code`, () => {
      expect(() => decodeMessage(input === null ? null : Buffer.from(input))).toThrow(message);
      try {
        decodeMessage(input === null ? null : Buffer.from(input));
      } catch (err) {
        expect(err).toBeInstanceOf(EnvelopeError);
        expect((err as EnvelopeError).code).toBe('DRC_ENVELOPE_INVALID');
      }
    });
  }
});

describe('key changes and the origin’s foreign_key_checks (issue 13)', () => {
  const moved: RowChange = { schema: 's', table: 't', op: 'update', key: { id: 2 }, oldKey: { id: 1 }, before: { id: 1, v: 'x' }, after: { id: 2, v: 'x' }, version: '5', noFkChecks: true };
  it('carry an update’s old key and the checks-off flag; messages without them decode as before (checks on, same key)', () => {
    const [message] = encodeTransaction(tx([moved, change({ id: 1 })]), 1 << 20);
    const [a, b] = decodeChunk(message!).changes;
    expect(a).toEqual(moved);
    expect(b!.oldKey).toBeUndefined();
    expect(b!.noFkChecks).toBeUndefined();
  });
  it('refuse an old key on anything but an update with its before-image, and a flag other than true', () => {
    const bad = (c: unknown) => () => decodeChunk(JSON.stringify({ v: 2, kind: 'tx', origin: 'a', id: '1', pos: '1', ts: 1, seq: 0, last: true, changes: [c] }));
    expect(bad({ schema: 's', table: 't', op: 'insert', key: { id: 2 }, oldKey: { id: 1 }, after: { id: 2 } })).toThrow(EnvelopeError);
    expect(bad({ ...moved, noFkChecks: false })).toThrow(EnvelopeError);
    expect(bad(moved)).not.toThrow();
  });
});

describe('the origin’s ownership verdict (issue 17)', () => {
  it('carries the routing version and the owner of a wrong write; messages without them decode as before', () => {
    const judged: RowChange = { ...change({ id: 1 }), rv: 7, wrong: 'b' };
    const [message] = encodeTransaction(tx([judged, { ...change({ id: 2 }), rv: 7 }, change({ id: 3 })]), 1 << 20);
    const [a, b, c] = decodeChunk(message!).changes;
    expect(a).toEqual(judged);
    expect([b!.rv, b!.wrong]).toEqual([7, undefined]);
    expect([c!.rv, c!.wrong]).toEqual([undefined, undefined]);
    const bad = (x: unknown) => () => decodeChunk(JSON.stringify({ v: 2, kind: 'tx', origin: 'a', id: '1', pos: '1', ts: 1, seq: 0, last: true, changes: [x] }));
    expect(bad({ ...judged, rv: -1 })).toThrow(EnvelopeError);
    expect(bad({ ...judged, wrong: '' })).toThrow(EnvelopeError);
  });
});
