import { describe, expect, it } from 'vitest';
import type { RowChange, Transaction } from './change.js';
import { PieceJoiner } from './change-pieces.js';
import { ChunkEncoder, decodeChange, decodeMessage, encodeTransaction, isFinalChunk, type TxChunk } from './envelope.js';
import { toWireRow } from './value.js';

const change = (id: number, v: unknown): RowChange => ({ schema: 's', table: 't', op: 'insert', key: { id }, after: toWireRow({ id, v }), version: '1' });
const tx = (changes: RowChange[], position = '0-1-42'): Transaction => ({ origin: 'a', id: '0-1-42', position, commitTime: 1_700_000_000_000, changes });

/** What a consumer makes of the messages: the transaction's changes, pieces joined, in order. */
function consume(messages: Buffer[]): { chunks: TxChunk[]; changes: RowChange[] } {
  const joiner = new PieceJoiner(decodeChange);
  const chunks: TxChunk[] = [];
  const changes: RowChange[] = [];
  messages.forEach((m, i) => {
    const msg = decodeMessage(m);
    expect(msg.seq).toBe(i);
    if (msg.kind === 'piece') return joiner.take(msg);
    chunks.push(msg);
    changes.push(...joiner.drain(msg.joined ?? 0).changes, ...msg.changes);
  });
  return { chunks, changes };
}

const CJK = '漢字かな交じり文、한국어 텍스트。'; // 3 bytes per UTF-16 unit
const EMOJI = '😀🎉👩‍👩‍👧‍👦🇯🇵'; // 4 bytes per surrogate pair, joiners, flags

describe('sizes are UTF-8 bytes, not string length', () => {
  for (const [name, text] of [
    ['CJK', CJK],
    ['4-byte emoji', EMOJI],
    ['ASCII', 'ascii text, 1 byte each '],
    ['escapes', '"\\\u0001\n\t'],
  ] as const) {
    it(`keeps every message of a 1,000-row ${name} transaction within the limit, and joins it back exactly`, () => {
      const rows = Array.from({ length: 1000 }, (_, i) => change(i, text.repeat(40)));
      const messages = encodeTransaction(tx(rows), 20_000);
      for (const m of messages) expect(m.length).toBeLessThanOrEqual(20_000);
      const total = messages.reduce((n, m) => n + m.length, 0);
      expect(messages.length).toBeLessThanOrEqual(Math.ceil(total / 15_000)); // chunks are well filled
      expect(consume(messages).changes).toEqual(rows);
    });
  }

  it('splits a change larger than a message into pieces (CJK and emoji cut between characters) and joins it back', () => {
    for (const text of [CJK.repeat(2000), EMOJI.repeat(3000), 'x'.repeat(100_001)]) {
      const big = change(7, text);
      const rows = [change(1, 'before'), big, change(2, 'after')];
      const messages = encodeTransaction(tx(rows), 16_384);
      for (const m of messages) expect(m.length).toBeLessThanOrEqual(16_384);
      const kinds = messages.map((m) => decodeMessage(m).kind);
      expect(kinds.filter((k) => k === 'piece').length).toBeGreaterThan(2);
      expect(kinds.at(-1)).toBe('tx');
      // Every piece is valid UTF-8 on its own: no replacement character after a round trip.
      for (const m of messages) {
        const msg = decodeMessage(m);
        if (msg.kind === 'piece') expect(Buffer.from(msg.bytes.toString('utf8'), 'utf8').equals(msg.bytes)).toBe(true);
      }
      const { changes } = consume(messages);
      expect(changes).toEqual(rows);
      expect(changes[1]!.after!.v).toBe(text);
    }
  });

  it('joins a binary value of several MB byte for byte', () => {
    const blob = Buffer.alloc(3 << 20);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 2654435761) >>> 24;
    const messages = encodeTransaction(tx([change(1, blob)]), 900_000);
    for (const m of messages) expect(m.length).toBeLessThanOrEqual(900_000);
    expect(messages.length).toBeGreaterThanOrEqual(5);
    const [only] = consume(messages).changes;
    expect(Buffer.from((only!.after!.v as { $b: string }).$b, 'base64').equals(blob)).toBe(true);
  });

  it('marks only the last message final, also when it carries a change sent in pieces', () => {
    const messages = encodeTransaction(tx([change(1, 'y'.repeat(50_000))]), 16_384);
    expect(messages.map(isFinalChunk)).toEqual(messages.map((_, i) => i === messages.length - 1));
    const last = decodeMessage(messages.at(-1)!) as TxChunk;
    expect(last).toMatchObject({ kind: 'tx', last: true, joined: 1, changes: [] });
  });

  it('sends two oversized changes each before its own chunk, so a consumer holds one at a time', () => {
    const messages = encodeTransaction(tx([change(1, 'a'.repeat(40_000)), change(2, 'b'.repeat(40_000))]), 16_384);
    const chunks = messages.map((m) => decodeMessage(m)).filter((m): m is TxChunk => m.kind === 'tx');
    expect(chunks.map((c) => c.joined)).toEqual([1, 1]);
  });

  it('moves the changes to a chunk of their own when a long end position does not fit the final header', () => {
    const enc = new ChunkEncoder({ origin: 'a', id: 'x', position: '0-1-1', commitTime: 1 }, 4_000);
    for (let i = 0; i < 30; i++) expect(enc.add(change(i, 'p'.repeat(30)))).toEqual([]);
    const end = enc.finish({ position: `0-1-1,${'9'.repeat(1500)}`, commitTime: 2 });
    expect(end.length).toBe(2);
    for (const m of end) expect(m.length).toBeLessThanOrEqual(4_000);
    expect(decodeMessage(end[0]!)).toMatchObject({ last: false, pos: '0-1-1' });
    expect(decodeMessage(end[1]!)).toMatchObject({ last: true, changes: [] });
  });
});

describe('PieceJoiner', () => {
  const pieces = () => encodeTransaction(tx([change(1, 'z'.repeat(40_000))]), 16_384).slice(0, -1).map((m) => decodeMessage(m));

  it('refuses a piece that does not continue the change, and a chunk announcing changes that did not arrive', () => {
    const [first, second, third] = pieces();
    const j = new PieceJoiner(decodeChange);
    expect(() => j.take(second as never)).toThrow(/does not continue/);
    j.take(first as never);
    expect(() => j.take(third as never)).toThrow(/does not continue/);
    expect(() => new PieceJoiner(decodeChange).drain(1)).toThrow(/carries 1 changes sent in pieces, but 0 arrived/);
    const k = new PieceJoiner(decodeChange);
    k.take(first as never);
    expect(() => k.drain(0)).toThrow(/one incomplete/);
  });

  it('refuses joined bytes that are not a valid change', () => {
    const j = new PieceJoiner(decodeChange);
    const piece = (bytes: string) => ({ v: 2, kind: 'piece', origin: 'a', id: 'x', pos: '', ts: 1, seq: 0, last: false, size: bytes.length, at: 0, bytes: Buffer.from(bytes) }) as const;
    expect(() => j.take(piece('{"a":'))).toThrow(/reassembled change is not JSON/);
    expect(() => new PieceJoiner(decodeChange).take(piece('{"schema":"s"}'))).toThrow(/invalid envelope at table/);
  });
});
