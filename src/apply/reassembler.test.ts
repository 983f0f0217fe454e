import { describe, expect, it } from 'vitest';
import { encodeTransaction } from '../model/envelope.js';
import { toWireRow } from '../model/value.js';
import { Reassembler } from './reassembler.js';

const tx = (id: string, rows: number, origin = 'a') => ({
  origin,
  id,
  position: id,
  commitTime: 1,
  changes: Array.from({ length: rows }, (_, i) => ({ schema: 's', table: 't', op: 'insert' as const, key: { id: i }, after: toWireRow({ id: i, pad: 'x'.repeat(100) }) })),
});
const msgs = (buffers: Buffer[], from = 0) => buffers.map((value, i) => ({ offset: String(from + i), key: 'a', value }));

describe('Reassembler', () => {
  it('passes whole transactions and follows a chunked one', () => {
    const r = new Reassembler('a');
    const kinds = [...msgs(encodeTransaction(tx('1-1-1', 1), 1 << 20)), ...msgs(encodeTransaction(tx('1-1-2', 40), 1000), 1)].map((m) => r.next(m));
    expect(kinds.flatMap((k) => k.units.map((u) => u.kind))).toEqual(['tx', ...Array.from({ length: kinds.length - 1 }, () => 'part')]);
    expect(kinds.every((k) => k.deadLetter === undefined)).toBe(true);
  });

  it('dead-letters undecodable messages, a foreign origin and chunks out of sequence', () => {
    const r = new Reassembler('a');
    expect(r.next({ offset: '0', key: null, value: Buffer.from('nope') })).toEqual({ units: [{ kind: 'skip', offset: '0', bytes: 68 }], deadLetter: 'not JSON' });
    expect(r.next(msgs(encodeTransaction(tx('2-2-1', 1, 'b'), 1 << 20), 1)[0]!).deadLetter).toBe('origin b on the a stream');
    const chunks = msgs(encodeTransaction(tx('1-1-3', 40), 1000), 2);
    r.next(chunks[0]!);
    expect(r.next(chunks[2]!).deadLetter).toMatch(/chunk 2 of transaction 1-1-3 is out of sequence/);
  });

  it('abandons an unfinished chunked transaction when a new one starts, and forgets it on reset', () => {
    const r = new Reassembler('a');
    const chunks = msgs(encodeTransaction(tx('1-1-4', 40), 1000));
    r.next(chunks[0]!);
    expect(r.next(msgs(encodeTransaction(tx('1-1-5', 1), 1 << 20), 9)[0]!).units.map((u) => u.kind)).toEqual(['abandon', 'tx']);
    const again = msgs(encodeTransaction(tx('1-1-4', 40), 1000), 20);
    r.next(again[0]!);
    r.reset();
    expect(r.next(again[1]!).deadLetter).toMatch(/out of sequence/);
  });

  it('takes each offset once: messages delivered again (after a consumer rebalance) yield nothing until a reset', () => {
    const r = new Reassembler('a');
    const stream = msgs([...encodeTransaction(tx('1-1-6', 1), 1 << 20), ...encodeTransaction(tx('1-1-7', 1), 1 << 20), ...encodeTransaction(tx('1-1-8', 1), 1 << 20)], 10);
    expect(r.next(stream[0]!).units.map((u) => u.offset)).toEqual(['10']);
    expect(r.next(stream[1]!).units.map((u) => u.offset)).toEqual(['11']);
    expect(r.next(stream[0]!)).toEqual({ units: [] }); // the consumer went back to offset 10
    expect(r.next(stream[1]!)).toEqual({ units: [] });
    expect(r.next(stream[2]!).units.map((u) => u.offset)).toEqual(['12']);
    r.reset(); // the stream restarts from the applied position
    expect(r.next(stream[1]!).units.map((u) => u.offset)).toEqual(['11']);
  });

  it('joins a change sent in pieces into the chunk that carries it: one transaction unit, chunks numbered without pieces', () => {
    const r = new Reassembler('a');
    const big = { schema: 's', table: 't', op: 'insert' as const, key: { id: 9 }, after: toWireRow({ id: 9, blob: Buffer.alloc(100_000, 7) }) };
    const single = msgs(encodeTransaction({ ...tx('1-1-9', 0), changes: [big] }, 20_000));
    expect(single.length).toBeGreaterThan(5);
    const units = single.flatMap((m) => r.next(m).units);
    expect(units.map((u) => u.kind)).toEqual(['tx']);
    const [u] = units as Extract<(typeof units)[number], { kind: 'tx' }>[];
    expect(u!.chunk.changes).toEqual([big]);
    expect(u!.offset).toBe(String(single.length - 1));
    expect(u!.bytes).toBeGreaterThan(100_000); // the joined change counts against the queue's budget

    const mixed = { ...tx('1-1-10', 3), changes: [...tx('x', 3).changes, big, ...tx('y', 2).changes] };
    const parts = msgs(encodeTransaction(mixed, 20_000), 100).flatMap((m) => r.next(m).units);
    expect(parts.map((p) => p.kind)).toEqual(['part', 'part']);
    expect(parts.map((p) => (p.kind === 'part' ? p.chunk.seq : -1))).toEqual([0, 1]);
    expect(parts.flatMap((p) => (p.kind === 'part' ? p.chunk.changes : []))).toEqual(mixed.changes);
  });

  it('dead-letters a piece out of sequence and a chunk whose pieces did not all arrive, and still garbage', () => {
    const r = new Reassembler('a');
    const big = { schema: 's', table: 't', op: 'insert' as const, key: { id: 9 }, after: toWireRow({ id: 9, v: 'é'.repeat(30_000) }) };
    const m = msgs(encodeTransaction({ ...tx('1-1-11', 0), changes: [big] }, 16_384));
    r.next(m[0]!);
    expect(r.next(m[2]!).deadLetter).toMatch(/piece 2 of transaction 1-1-11 is out of sequence/);
    expect(r.next(m.at(-1)!).deadLetter).toMatch(/out of sequence/);
    const again = msgs(encodeTransaction({ ...tx('1-1-12', 0), changes: [big] }, 16_384), 50);
    const lastChunk = { ...again.at(-1)!, value: Buffer.from(again.at(-1)!.value.toString().replace('"seq":', '"seq":0,"x":').replace(/"x":\d+,/, '')) };
    expect(r.next(lastChunk)).toMatchObject({ units: [{ kind: 'abandon' }, { kind: 'skip' }], deadLetter: expect.stringMatching(/carries 1 changes sent in pieces, but 0 arrived/) });
    expect(r.next({ offset: '99', key: null, value: Buffer.from('{"v":2,"kind":"piece"}\n\u0000garbage') }).deadLetter).toMatch(/invalid envelope/);
    expect(r.next({ offset: '100', key: null, value: Buffer.from([0xff, 0xfe, 0x0a, 0x00]) }).deadLetter).toBe('not JSON');
  });
});
