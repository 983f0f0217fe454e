import { describe, expect, it } from 'vitest';
import { RecordingPool, type ScriptedCall } from '../db/recording-session.js';
import { createLogger } from '../ops/logger.js';
import { ChunkCopyApplier, COPY_ORIGIN, COPY_SLOT, rivalsOf } from './copy-applier.js';
import type { ConflictRecord } from './sql/meta.js';

const script = (call: ScriptedCall): unknown => {
  if (call.sql.includes('information_schema.COLUMNS')) return [{ c: 'id' }, { c: 'v' }, { c: 'updated_at' }];
  if (call.sql.includes('information_schema.STATISTICS')) return [{ i: 'PRIMARY', c: 'id' }];
  if (call.sql.includes('information_schema.KEY_COLUMN_USAGE')) return []; // no foreign keys
  if (call.sql.startsWith('(SELECT') || call.sql.startsWith('WITH k AS')) return [];
  return undefined;
};

const makeApplier = (pool: RecordingPool) =>
  new ChunkCopyApplier({
    ezone: 'c',
    pool,
    flavor: 'mariadb',
    config: {
      replicate: { include: ['*.*'], exclude: [], versionColumn: 'updated_at' },
      tables: {},
      apply: { workers: 1, maxBufferBytes: 1 << 20, groupMaxTransactions: 1, groupMaxRows: 1, onUnknownColumn: 'pause', onError: 'pause', tombstoneRetention: 1 },
      ownership: { policy: 'reject', shardCount: 16, routing: [], tables: {}, global: {} },
    },
    log: createLogger('silent'),
  });
const chunk = (ids: number[]) => ids.map((id) => ({ schema: 's', table: 't', op: 'insert' as const, key: { id }, after: { id, v: id, updated_at: '2026-12-01 00:00:00.000001' }, version: '1764547200000001' }));

describe('ChunkCopyApplier', () => {
  it('gives each chunk in flight a marker slot of its own, from 65534 down, and reuses a freed one', async () => {
    const pool = new RecordingPool(script);
    const applier = makeApplier(pool);
    await Promise.all([applier.applyChunk(chunk([1])), applier.applyChunk(chunk([2])), applier.applyChunk(chunk([3]))]);
    await applier.applyChunk(chunk([4]));
    const slots = pool.connections.map((c) => c.trips[0]![1]!.params[0]);
    expect(new Set(slots.slice(0, 3)).size).toBe(3);
    expect(slots.slice(0, 3).every((n) => typeof n === 'number' && n <= COPY_SLOT && n > COPY_SLOT - 3)).toBe(true);
    expect(slots.slice(0, 3)).toContain(slots[3]);
  });

  it('writes a chunk in one transaction: the bootstrap marker first, every row an insert, no conflict record, no coverage wait', async () => {
    const pool = new RecordingPool(script);
    const applier = new ChunkCopyApplier({
      ezone: 'c',
      pool,
      flavor: 'mariadb',
      config: {
        replicate: { include: ['*.*'], exclude: [], versionColumn: 'updated_at' },
        tables: {},
        apply: { workers: 1, maxBufferBytes: 1 << 20, groupMaxTransactions: 1, groupMaxRows: 1, onUnknownColumn: 'pause', onError: 'pause', tombstoneRetention: 1 },
        ownership: { policy: 'reject', shardCount: 16, routing: [], tables: {}, global: {} },
      },
      log: createLogger('silent'),
    });
    const row = (id: number) => ({ id, v: id, updated_at: '2026-12-01 00:00:00.000001' });
    const out = await applier.applyChunk([7, 8].map((id) => ({ schema: 's', table: 't', op: 'insert' as const, key: { id }, after: row(id), version: '1764547200000001', noFkChecks: true as const })));
    expect(out).toEqual({ written: 2, skipped: 0 });
    const conn = pool.connections[0]!;
    const sqls = conn.trips.flat().map((s) => s.sql.split(' (')[0]!.split('\n')[0]!.trim());
    expect(sqls[0]).toBe('BEGIN');
    expect(sqls[1]).toBe('INSERT INTO drc_meta.tx_origin');
    expect(conn.trips[0]![1]!.params).toEqual([COPY_SLOT, COPY_ORIGIN, `${COPY_ORIGIN}:1`, '']);
    expect(sqls.at(-1)).toBe('COMMIT');
    expect(sqls.some((s) => s.startsWith('INSERT INTO `s`.`t`'))).toBe(true);
    expect(sqls.some((s) => s.includes('drc_meta.conflicts'))).toBe(false);
    expect(sqls.some((s) => /gtid_binlog_pos|MASTER_POS|BINLOG/i.test(s))).toBe(false);
    expect(conn.released).toBe(true);
  });
});

describe('rivalsOf', () => {
  const record = (over: Partial<ConflictRecord>): ConflictRecord => ({
    ezone: 'c', origin: COPY_ORIGIN, schema: 's', table: 't', key: { id: 1 }, reason: 'unique-collision', decision: 'skipped',
    incomingVersion: '100', localVersion: null, incoming: null, local: { id: 3, u: 'x', ver: 150 }, originTx: COPY_ORIGIN, at: 0, ...over,
  });
  const info = { primaryKey: ['id'] };

  it('names the live winner not newer than the horizon, once', () => {
    expect(rivalsOf([record({}), record({})], info, 'ver', '200')).toEqual([{ id: 3 }]);
  });

  it('leaves a winner newer than the horizon (maybe a write SOURCE has not received), a removed older holder, a recorded claim and other conflicts', () => {
    expect(rivalsOf([record({})], info, 'ver', '149')).toEqual([]);
    expect(rivalsOf([record({ local: { id: 4, u: 'x', ver: 90 } })], info, 'ver', '200')).toEqual([]);
    expect(rivalsOf([record({ local: null })], info, 'ver', '200')).toEqual([]);
    expect(rivalsOf([record({ reason: 'insert-exists' }), record({ decision: 'applied' })], info, 'ver', '200')).toEqual([]);
  });
});
