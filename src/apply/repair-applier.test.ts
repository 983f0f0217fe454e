import { describe, expect, it } from 'vitest';
import { RecordingPool, type ScriptedCall } from '../db/recording-session.js';
import { createLogger } from '../ops/logger.js';
import { REPAIR_ORIGIN, REPAIR_SLOT, SingleChangeApplier } from './repair-applier.js';

const script = (call: ScriptedCall): unknown => {
  if (call.sql.includes('information_schema.COLUMNS')) return [{ c: 'id' }, { c: 'v' }, { c: 'updated_at' }];
  if (call.sql.includes('information_schema.STATISTICS')) return [{ i: 'PRIMARY', c: 'id' }];
  if (call.sql.includes('information_schema.KEY_COLUMN_USAGE')) return []; // no foreign keys
  if (call.sql.startsWith('(SELECT') || call.sql.startsWith('WITH k AS')) return [];
  return undefined;
};

describe('SingleChangeApplier', () => {
  it('applies one change in a transaction of its own: marker first, no coverage wait, the repair record with the COMMIT', async () => {
    const pool = new RecordingPool(script);
    const applier = new SingleChangeApplier({
      ezone: 'b',
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
    const row = { id: 7, v: 1, updated_at: '2026-12-01 00:00:00.000001' };
    await applier.apply({ schema: 's', table: 't', op: 'insert', key: { id: 7 }, after: row, version: '1764547200000001' }, 'a', {
      origin: 'a',
      incomingVersion: '1764547200000001',
      localVersion: null,
      incoming: row,
      local: null,
    });
    const conn = pool.connections[0]!;
    const trips = conn.trips.map((t) => t.map((s) => s.sql.split(' (')[0]!.split('\n')[0]!.trim()));
    expect(trips).toEqual([
      ['BEGIN', 'INSERT INTO drc_meta.tx_origin', '(SELECT 0 AS `drc key index`, `id`, `v`, `updated_at` FROM `s`.`t` WHERE `id` = ? FOR UPDATE)'], // no binlog position: no coverage wait
      ['WITH k AS'],
      ['SAVEPOINT drc_writes', 'INSERT INTO `s`.`t`'],
      ['INSERT INTO drc_meta.conflicts', 'COMMIT'],
    ]);
    expect(conn.trips[0]![1]!.params).toEqual([REPAIR_SLOT, REPAIR_ORIGIN, expect.stringMatching(/^verify:/), '']);
    expect(conn.trips[3]![0]!.params.slice(1, 9)).toEqual(['b', 'a', 's', 't', '{"id":7}', 'verify-repair', 'applied', '1764547200000001']);
    expect(conn.released).toBe(true);
  });
});
