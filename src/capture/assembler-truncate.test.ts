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

function run(events: SourceEvent[]): CapturedPart[] {
  const parts: CapturedPart[] = [];
  const asm = new TransactionAssembler({ ezone: 'a', filter: new TableFilter(config), maxMessageBytes: 1 << 20, emit: (p) => parts.push(p) }, '0-1-0');
  for (const e of events) asm.push(e);
  return parts;
}

describe('deleteTime (a delete is as precise as an update)', () => {
  it("is capture's clock at receipt, clamped into the binlog event's second", () => {
    expect(deleteTime(T0, T0 + 512.7)).toBe(T0 + 512);
    expect(deleteTime(T0, T0 + 4000)).toBe(T0 + 999); // capture behind: the end of the event's second
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
