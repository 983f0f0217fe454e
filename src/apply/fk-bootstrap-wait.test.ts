import { describe, expect, it } from 'vitest';
import { driverError, RecordingConnection, type ScriptedCall } from '../db/recording-session.js';
import type { ForeignKey } from '../db/table-keys.js';
import type { RowChange } from '../model/change.js';
import { Ownership } from '../model/ownership.js';
import { createLogger } from '../ops/logger.js';
import type { TableInfo } from './table-cache.js';
import { TargetTransaction } from './target-transaction.js';
import type { TargetContext } from './types.js';

// s.c (id, pid → s.p.id ON DELETE CASCADE, v): a child whose new parent is not here, and has no tombstone.
const fk: ForeignKey = { name: 'fk_p', schema: 's', table: 'c', columns: ['pid'], refSchema: 's', refTable: 'p', refColumns: ['id'], onUpdate: 'RESTRICT', onDelete: 'CASCADE', autoUpdated: [] };
const child: TableInfo = { columns: new Set(['id', 'pid', 'v']), primaryKey: ['id'], uniqueKeys: [], foreignKeys: [fk] };
const parent: TableInfo = { columns: new Set(['id', 'v']), primaryKey: ['id'], uniqueKeys: [], referencedBy: [fk] };

const context = (): TargetContext => ({
  ezone: 'c',
  flavor: 'mariadb',
  config: { replicate: { include: ['*.*'], exclude: [], versionColumn: 'v' }, tables: {}, apply: { onUnknownColumn: 'pause' } },
  ownership: new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: {}, global: {} }),
  tables: { get: async (_s: string, t: string) => (t === 'c' ? child : parent), uniqueKeysOf: () => [], forget: () => undefined },
  coverage: 'not-needed',
  log: createLogger('silent'),
});

/** TARGET holding child 1 (under parent 1) when `local`, no parent 2; a bootstrap's lock `held` or not, s.p recorded `copying` or not. */
function target(local: boolean, held: boolean, copying: boolean) {
  return (call: ScriptedCall): unknown => {
    if (call.sql.startsWith('(SELECT 0 AS `drc key index`')) return local ? [{ 'drc key index': 0, id: 1, pid: 1, v: 5 }] : [];
    if (call.sql.startsWith('UPDATE `s`.`c`') || call.sql.startsWith('INSERT INTO `s`.`c`')) return driverError(1452, 'ER_NO_REFERENCED_ROW_2', 'Cannot add or update a child row');
    if (call.sql.startsWith('SELECT 1 FROM `s`.`p`') || call.sql.startsWith('WITH k AS')) return [];
    if (call.sql.includes('IS_USED_LOCK')) return [{ running: held ? 1 : 0 }];
    if (call.sql.includes('FROM drc_meta.bootstrap')) return copying ? [{ 1: 1 }] : [];
    if (call.sql.startsWith('SELECT @@GLOBAL.gtid_binlog_pos')) return [{ p: '0-1-42' }];
    return /^\(?(SELECT|WITH)/.test(call.sql) ? [] : undefined;
  };
}

const update: RowChange = { schema: 's', table: 'c', op: 'update', key: { id: 1 }, before: { id: 1, pid: 1, v: 5 }, after: { id: 1, pid: 2, v: 9 }, version: '9' };
const insert: RowChange = { schema: 's', table: 'c', op: 'insert', key: { id: 1 }, after: { id: 1, pid: 2, v: 9 }, version: '9' };

async function applyOne(change: RowChange, script: (call: ScriptedCall) => unknown) {
  const conn = new RecordingConnection(script);
  const tx = new TargetTransaction(conn, context());
  tx.open(3, 'a', 'a-tx', 'a-pos');
  const error = await tx.apply([{ change, origin: 'a', txId: 'a-tx' }], { writeAtCommit: () => true }).then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  const sql = conn.trips.flat().map((s) => s.sql);
  return { error, stashed: sql.some((s) => s.includes('INSERT INTO drc_meta.fk_waiting')), deleted: sql.some((s) => s.startsWith('DELETE FROM `s`.`c`')) };
}

describe('a child whose parent is missing while drc bootstrap copies the parent table', () => {
  it('an update in place waits in fk_waiting and its older local row is left as it is (the sweep replaces it; its children untouched)', async () => {
    expect(await applyOne(update, target(true, true, true))).toEqual({ error: undefined, stashed: true, deleted: false });
  });

  it('an insert waits in fk_waiting, nothing else written', async () => {
    expect(await applyOne(insert, target(false, true, true))).toEqual({ error: undefined, stashed: true, deleted: false });
  });

  it('a run abandoned with the parent table still recorded copying (no lock): retried, not parked', async () => {
    const out = await applyOne(update, target(true, false, true));
    expect(out.error?.message).toMatch(/is not here yet .*retrying/);
    expect([out.stashed, out.deleted]).toEqual([false, false]);
  });

  it('a run holding the lock that does not copy the parent table: retried, not parked', async () => {
    const out = await applyOne(update, target(true, true, false));
    expect(out.error?.message).toMatch(/is not here yet .*retrying/);
    expect(out.stashed).toBe(false);
  });
});
