import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { TableFilter } from '../config/table-filter.js';
import { decodeChunk } from '../model/envelope.js';
import { TransactionAssembler, type CapturedPart, type SourceEvent } from './assembler.js';
import { deleteTime } from './row-changes.js';

const config = configSchema.parse({
  kafka: { brokers: ['k:9092'] },
  ezones: { a: { mysql: {}, serverId: 1 } },
  replicate: { include: ['app.*'] },
  tables: { 'app.plain': { versionColumn: null } },
});
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const us = (ms: number) => (BigInt(ms) * 1000n).toString();

function run(events: SourceEvent[], receipts?: ReadonlyMap<string, number>): CapturedPart[] {
  const parts: CapturedPart[] = [];
  const asm = new TransactionAssembler({ ezone: 'a', filter: new TableFilter(config), maxMessageBytes: 1 << 20, emit: (p) => parts.push(p), ...(receipts ? { receipts } : {}) }, '0-1-0');
  for (const e of events) asm.push(e);
  return parts;
}

describe('deleteTime (a delete is as precise as an update)', () => {
  it("is capture's clock at receipt, clamped into the binlog event's second", () => {
    expect(deleteTime(T0, T0 + 512.7)).toBe(T0 + 512);
    // Capture read it after its second (catching up): the newest local write before it in that second, else the second's start.
    expect(deleteTime(T0, T0 + 4000)).toBe(T0);
    expect(deleteTime(T0, T0 + 4000, T0 + 640.5)).toBe(T0 + 640);
    expect(deleteTime(T0, T0 + 4000, T0 - 10)).toBe(T0);
    expect(deleteTime(T0, T0 - 50)).toBe(T0); // a clock behind the server's: its start
    expect(deleteTime(T0, undefined)).toBe(T0);
  });

  it("gives a delete of a temporal version the receipt time, not the binlog's second", () => {
    const parts = run([
      { type: 'begin', id: '0-1-1', timestamp: T0 },
      { type: 'table', tableId: 7, schema: 'app', table: 't', primaryKey: ['id'], temporal: ['updated_at'] },
      { type: 'rows', op: 'delete', tableId: 7, rows: [{ id: 1, updated_at: '2026-12-01 09:00:00.000000' }], timestamp: T0, receivedAt: T0 + 300 },
      { type: 'commit', position: '0-1-1', timestamp: T0 },
    ]);
    expect(parts[0]?.tombstones).toEqual([{ schema: 'app', table: 't', key: { id: 1 }, version: us(T0 + 300) }]);
  });
});

describe('a delete read again keeps its version (receipt times, db/capture-receipts.ts)', () => {
  const deleting = (receivedAt: number): SourceEvent[] => [
    { type: 'begin', id: '0-1-5', timestamp: T0 },
    { type: 'table', tableId: 7, schema: 'app', table: 't', primaryKey: ['id'], temporal: ['updated_at'] },
    { type: 'rows', op: 'delete', tableId: 7, rows: [{ id: 1, updated_at: '2026-12-01 09:00:00.000000' }], timestamp: T0, receivedAt },
    { type: 'rows', op: 'delete', tableId: 7, rows: [{ id: 2, updated_at: '2026-12-01 09:00:00.000000' }], timestamp: T0, receivedAt: receivedAt + 3 },
    { type: 'commit', position: '0-1-5', timestamp: T0 },
  ];

  it("hands on the transaction's receipt time once, to record, and gives every delete of the transaction that time", () => {
    const parts = run(deleting(T0 + 120));
    expect(parts.map((p) => p.receipt)).toEqual([{ txId: '0-1-5', receivedAt: T0 + 120 }]);
    expect(parts[0]?.tombstones.map((t) => t.version)).toEqual([us(T0 + 120), us(T0 + 120)]);
  });

  it('uses the time an earlier capture recorded, not the clock of this reading, and records nothing new', () => {
    const again = run(deleting(T0 + 5000), new Map([['0-1-5', T0 + 120]]));
    expect(again[0]?.receipt).toBeUndefined();
    expect(again[0]?.tombstones.map((t) => t.version)).toEqual([us(T0 + 120), us(T0 + 120)]);
    expect(decodeChunk(again[0]!.chunks[0]!).changes.map((c) => c.version)).toEqual([us(T0 + 120), us(T0 + 120)]);
    // Without the record, the second reading (late) would count the delete at the start of its second.
    expect(run(deleting(T0 + 5000))[0]?.tombstones[0]?.version).toBe(us(T0));
  });

  it('times a delete read late at the newest local write before it in its second, never later: a write after it stays newer', () => {
    const parts = run([
      { type: 'begin', id: '0-1-7', timestamp: T0 },
      { type: 'table', tableId: 7, schema: 'app', table: 't', primaryKey: ['id'], temporal: ['updated_at'] },
      { type: 'rows', op: 'insert', tableId: 7, rows: [{ id: 3, updated_at: '2026-12-01 10:00:00.420000' }], timestamp: T0, receivedAt: T0 + 6000 },
      { type: 'commit', position: '0-1-7', timestamp: T0 },
      ...deleting(T0 + 6000),
    ]);
    const del = parts.find((p) => p.txId === '0-1-5')!;
    expect(del.tombstones.map((t) => t.version)).toEqual([us(T0 + 420), us(T0 + 420)]);
    expect(del.receipt).toEqual({ txId: '0-1-5', receivedAt: T0 + 420 });
  });

  it('keeps a truncate read again at its first time too', () => {
    const truncating: SourceEvent[] = [
      { type: 'ddl', schema: 'app', statement: 'TRUNCATE TABLE t', timestamp: T0, receivedAt: T0 + 7000, id: '0-1-6' },
      { type: 'commit', position: '0-1-6', timestamp: T0 },
    ];
    const parts = run(truncating, new Map([['0-1-6', T0 + 250]]));
    expect(parts[0]?.truncates?.[0]?.version).toBe(us(T0 + 250));
    expect(parts[0]?.receipt).toBeUndefined();
  });
});

describe('TRUNCATE TABLE', () => {
  it('ships a truncate of a replicated table as a transaction of its own, with its table-wide tombstone', () => {
    const parts = run([
      { type: 'ddl', schema: 'app', statement: 'TRUNCATE TABLE t', timestamp: T0, receivedAt: T0 + 250, id: '0-1-2' },
      { type: 'commit', position: '0-1-2', timestamp: T0 },
    ]);
    expect(parts).toHaveLength(1);
    const chunk = decodeChunk(parts[0]!.chunks[0]!);
    expect(chunk.id).toBe('0-1-2');
    expect(chunk.changes).toEqual([{ schema: 'app', table: 't', op: 'truncate', key: {}, version: us(T0 + 250) }]);
    expect(parts[0]?.truncates).toEqual([{ schema: 'app', table: 't', versionColumn: 'updated_at', version: us(T0 + 250) }]);
    expect(parts[0]?.notifications.map((n) => n.op)).toEqual(['truncate']);
    expect(parts[0]?.receipt).toEqual({ txId: '0-1-2', receivedAt: T0 + 250 });
  });

  it('ships a truncate of a table without a version column unversioned, and ignores other schemas', () => {
    const plain = run([{ type: 'ddl', schema: 'x', statement: 'truncate app.plain', timestamp: T0, id: '0-1-3' }, { type: 'commit', position: '0-1-3', timestamp: T0 }]);
    expect(decodeChunk(plain[0]!.chunks[0]!).changes).toEqual([{ schema: 'app', table: 'plain', op: 'truncate', key: {} }]);
    expect(plain[0]?.truncates).toBeUndefined();
    const other = run([{ type: 'ddl', schema: 'mysql', statement: 'TRUNCATE TABLE general_log', timestamp: T0, id: '0-1-4' }, { type: 'commit', position: '0-1-4', timestamp: T0 }]);
    expect(other[0]?.chunks).toEqual([]);
  });

  it('stops on a TRUNCATE it cannot read rather than guess', () => {
    expect(() => run([{ type: 'ddl', schema: '', statement: 'TRUNCATE TABLE t', timestamp: T0 }])).toThrow(/cannot read/);
  });
});
