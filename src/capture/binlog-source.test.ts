import { describe, expect, it, vi } from 'vitest';
import { configSchema } from '../config/schema.js';
import { TableFilter } from '../config/table-filter.js';
import type { Logger } from '../ops/logger.js';
import { TransactionAssembler, type CapturedPart, type SourceEvent } from './assembler.js';
import { BinlogSource } from './binlog-source.js';

const config = configSchema.parse({ kafka: { brokers: ['k:9092'] }, ezones: { a: { mysql: {}, serverId: 1 } }, replicate: { include: ['app.*'] } });
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);

/** A zongji event as BinlogSource reads it. */
const event = (name: string, nextPosition: number, fields: Record<string, unknown> = {}) => ({ getEventName: () => name, timestamp: T0, nextPosition, ...fields });
/**
 * MySQL with gtid_mode OFF, read from the start of a binlog file: zongji's executed set is seeded
 * (empty) from Previous_gtids and no anonymous transaction ever moves it.
 */
const zongji = (filename: string) => ({ gtidSet: '', options: { filename, position: 4 } });

/** One anonymous transaction deleting a row, at binlog offset `at`: GTID-less BEGIN, table map, delete, XID. */
const anonymousDelete = (at: number, id: number) => [
  event('query', at + 80, { query: 'BEGIN', schema: 'app' }),
  event('tablemap', 0, {
    tableId: 7, schemaName: 'app', tableName: 't', columnNames: ['id'], primaryKey: [0], columnTypes: [3],
    hasSelfDescribingMetadata: () => true, tableMap: {},
  }),
  event('deleterows', 0, { tableId: 7, rows: [{ id }], flags: 0 }),
  event('xid', at + 300),
];

/** Source events BinlogSource translates the zongji events into (through its private translate). */
function translate(filename: string, events: ReturnType<typeof event>[]): SourceEvent[] {
  const out: SourceEvent[] = [];
  const source = new BinlogSource({ mysql: config.ezones.a!.mysql, serverId: 9, heartbeatMs: 1000, log: { warn: vi.fn() } as unknown as Logger, onEvent: (e) => out.push(e), onError: (e) => { throw e; } });
  const z = zongji(filename);
  for (const e of events) (source as unknown as { translate(z: unknown, e: unknown): void }).translate(z, e);
  return out;
}

function assemble(events: SourceEvent[]): CapturedPart[] {
  const parts: CapturedPart[] = [];
  const asm = new TransactionAssembler({ ezone: 'a', filter: new TableFilter(config), maxMessageBytes: 1 << 20, emit: (p) => parts.push(p) }, '');
  for (const e of events) asm.push({ ...e, ...(e.type === 'rows' ? { receivedAt: T0 + 10 } : {}) } as SourceEvent);
  return parts;
}

describe('transaction ids without GTIDs (MySQL gtid_mode OFF: anonymous transactions)', () => {
  const binlog = [...anonymousDelete(1000, 1), ...anonymousDelete(2000, 2), event('query', 2600, { query: 'TRUNCATE TABLE t', schema: 'app' })];

  it('gives every anonymous transaction its own id, the binlog file and position after its BEGIN (not the unmoving GTID set)', () => {
    const ids = translate('binlog.000007', binlog).flatMap((e) => (e.type === 'begin' || e.type === 'ddl' ? [e.id] : []));
    expect(ids).toEqual(['file:binlog.000007:1080', 'file:binlog.000007:2080', 'file:binlog.000007:2600']);
  });

  it('so each transaction with deletes records its own receipt, under the same id when it is read again after a crash', () => {
    const first = assemble(translate('binlog.000007', binlog)).flatMap((p) => (p.receipt ? [p.receipt.txId] : []));
    expect(first).toEqual(['file:binlog.000007:1080', 'file:binlog.000007:2080', 'file:binlog.000007:2600']);
    // Read again (a capture restarted from before them): the same events give the same ids.
    expect(assemble(translate('binlog.000007', binlog)).flatMap((p) => (p.receipt ? [p.receipt.txId] : []))).toEqual(first);
    // The same offsets in another binlog file are other transactions.
    expect(translate('binlog.000008', anonymousDelete(1000, 1))[0]).toMatchObject({ type: 'begin', id: 'file:binlog.000008:1080' });
  });

  it('keeps the GTID of a transaction that has one', () => {
    const events = translate('binlog.000007', [event('gtid', 900, { gtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:5' }), ...anonymousDelete(1000, 1)]);
    expect(events.filter((e) => e.type === 'begin')).toEqual([{ type: 'begin', id: '3e11fa47-71ca-11e1-9e33-c80aa9429562:5', timestamp: T0 }]);
  });
});
