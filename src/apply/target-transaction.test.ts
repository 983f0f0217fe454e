import { describe, expect, it } from 'vitest';
import { driverError, RecordingConnection, type ScriptedCall } from '../db/recording-session.js';
import type { RowChange } from '../model/change.js';
import { Ownership } from '../model/ownership.js';
import { RoutingBook } from '../model/routing.js';
import { ForcedFlipRaced } from './forced-flips.js';
import { createLogger } from '../ops/logger.js';
import { position } from './sql/meta.js';
import type { TableInfo } from './table-cache.js';
import { TargetTransaction } from './target-transaction.js';
import type { Coverage, TargetContext } from './types.js';

const users: TableInfo = { columns: new Set(['id', 'email', 'v']), primaryKey: ['id'], uniqueKeys: [['email']] };
/** The same table without its unique key: the trips of the unique-claim reads (unique-claims-state.ts) stay out of the way. */
const plain: TableInfo = { ...users, uniqueKeys: [] };

function context(coverage: Coverage, versionColumn: string | null = 'v', info: TableInfo = plain): TargetContext {
  return {
    ezone: 'b',
    flavor: 'mariadb',
    config: { replicate: { include: ['*.*'], exclude: [], versionColumn }, tables: {}, apply: { onUnknownColumn: 'pause' } },
    ownership: new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: {}, global: {} }),
    tables: { get: async () => info, uniqueKeysOf: () => info.uniqueKeys, forget: () => undefined },
    coverage,
    log: createLogger('silent'),
  };
}

const insert = (id: number, email: string, v: number): RowChange => ({ schema: 's', table: 'u', op: 'insert', key: { id }, after: { id, email, v }, version: String(v) });
const incoming = (change: RowChange) => ({ change, origin: 'a', txId: 'a-tx' });
const positionOf = (next: string) => position('mariadb', 'a', 0, next, 'a-tx', 'a-pos');

/** Answers like an empty table (plus `existing` rows found by unique key) on MariaDB. */
function emptyTable(existing: Record<string, unknown>[] = []) {
  const present = [...existing];
  return (call: ScriptedCall): unknown => {
    if (call.sql.startsWith('SELECT @@GLOBAL.gtid_binlog_pos')) return [{ p: '0-1-42' }];
    if (call.sql.startsWith('(SELECT 0 AS `drc key index`, `id`, `email`, `v` FROM `s`.`u`')) return [];
    if (call.sql.startsWith('SELECT (`id` = ?) AS `drc is self`, `id`, `email`, `v` FROM `s`.`u` WHERE (`email` = ?)')) {
      return present.filter((r) => r.email === call.params[1]).map((r) => ({ 'drc is self': r.id === call.params[0] ? 1 : 0, ...r }));
    }
    if (call.sql.startsWith('WITH k AS')) return [];
    // The unique-claim reads see no holder and no claim: the rival below appears only at write time (a concurrent local write).
    if (call.sql.startsWith('(SELECT 0 AS `drc lookup`') || call.sql.startsWith('SELECT LOWER(HEX(claim_hash))')) return [];
    if (call.sql.startsWith('INSERT INTO `s`.`u`')) {
      const clash = present.some((r) => call.params.includes(r.email));
      return clash ? driverError(1062, 'ER_DUP_ENTRY', "Duplicate entry 'x@e' for key 'email'") : undefined;
    }
    if (call.sql.startsWith('DELETE FROM `s`.`u`')) {
      present.splice(present.findIndex((r) => r.id === call.params[0]), 1);
      return undefined;
    }
    return undefined;
  };
}

const sqlOf = (trip: { sql: string }[]) => trip.map((s) => s.sql.split(' (')[0]!.split('\n')[0]!.trim());

describe('TargetTransaction', () => {
  it('sends BEGIN and the marker first, with the row reads; the writes, the position and COMMIT in one last round trip', async () => {
    const conn = new RecordingConnection(emptyTable());
    const covered: string[] = [];
    const target = new TargetTransaction(conn, context({ wait: { waitUntilCovered: async (p) => void covered.push(p) } }));
    target.open(3, 'a', 'a-tx', 'a-pos');
    await target.apply([incoming(insert(1, 'x@e', 10))], { writeAtCommit: () => true });
    target.writeConflicts();
    await target.commit(positionOf('8'));

    expect(conn.trips).toHaveLength(3);
    const [first, tombstones, last] = conn.trips as [typeof conn.trips[0], typeof conn.trips[0], typeof conn.trips[0]];
    expect(first[0]?.sql).toBe('BEGIN');
    expect(first[1]?.sql).toContain('INSERT INTO drc_meta.tx_origin');
    expect(first[1]?.params).toEqual([3, 'a', 'a-tx', 'a-pos']);
    expect(first.slice(2).map((s) => s.sql)).toEqual([expect.stringContaining('FOR UPDATE'), 'SELECT @@GLOBAL.gtid_binlog_pos AS p']);
    // The missing row's tombstones are looked up only once capture covered the position read after the rows.
    expect(covered).toEqual(['0-1-42']);
    expect(tombstones.map((s) => s.sql)).toEqual([expect.stringContaining('WITH k AS')]);
    expect(sqlOf(last)).toEqual(['SAVEPOINT drc_writes', 'INSERT INTO `s`.`u`', 'INSERT INTO drc_meta.apply_position', 'COMMIT']);
    expect(last[1]?.params).toEqual([1, 'x@e', 10]);
    expect(last[2]?.params).toEqual(['a', 0, '8', 'a-tx', 'a-pos', null]);
  });

  it('rolls the writes back to the savepoint on a duplicate key and replays them one by one, resolving the unique collision', async () => {
    const conn = new RecordingConnection(emptyTable([{ id: 2, email: 'x@e', v: 5 }]));
    const target = new TargetTransaction(conn, context({ wait: { waitUntilCovered: async () => undefined } }, 'v', users));
    target.open(0, 'a', 'a-tx', 'a-pos');
    await target.apply([incoming(insert(1, 'x@e', 10))], { writeAtCommit: () => true });
    target.writeConflicts();
    await target.commit(positionOf('9'));

    const trips = conn.trips.map(sqlOf);
    // Rows, tombstones, the batch's own rows and weights, then the claims locked, the holders and the recorded claims, then the writes with the commit.
    expect(trips[2]![0]).toBe('(SELECT 0 AS `drc lookup`, `id`, `email`, `v` FROM `s`.`u` WHERE `id` = ? FOR UPDATE)');
    expect(trips[3]).toEqual(['INSERT INTO drc_meta.unique_claims', '(SELECT 0 AS `drc lookup`, `id`, `email`, `v` FROM `s`.`u` WHERE `email` = ? FOR UPDATE)', 'SELECT LOWER(HEX(claim_hash)) AS id, version, rank_text, rank_hash FROM drc_meta.unique_claims WHERE claim_hash IN']);
    // The image is to hold its value: no claim record (the table shows it).
    expect(trips[4]).toEqual(['SAVEPOINT drc_writes', 'INSERT INTO `s`.`u`', 'INSERT INTO drc_meta.apply_position', 'COMMIT']);
    expect(conn.trips[4]!.map((s) => s.ran)).toEqual([true, true, false, false]); // the commit never ran
    expect(trips.slice(5)).toEqual([
      ['ROLLBACK TO SAVEPOINT drc_writes'],
      ['INSERT INTO `s`.`u`'], // one by one: collides again
      ['SELECT'], // the other claimant of x@e (SELECT (`id` = ?) AS `drc is self`, … WHERE (`email` = ?))
      ['DELETE FROM `s`.`u` WHERE `id` = ?'], // older (v 5 < 10): the loser is removed
      ['INSERT INTO `s`.`u`'],
      ['INSERT INTO drc_meta.applied_tombstones', 'INSERT INTO drc_meta.conflicts', 'INSERT INTO drc_meta.apply_position', 'COMMIT'],
    ]);
    expect(conn.trips[8]![0]?.params).toEqual([2]);
    expect(target.conflicts.map((c) => [c.reason, c.decision, c.key])).toEqual([['unique-collision', 'applied', { id: 1 }]]);
  });

  it('writes in a round trip of its own when the commit cannot take them yet, and skips the coverage wait when told', async () => {
    const conn = new RecordingConnection(emptyTable());
    const target = new TargetTransaction(conn, context('not-needed'));
    target.open(0, 'a', 'a-tx', 'a-pos');
    await target.apply([incoming(insert(1, 'x@e', 10))], { writeAtCommit: () => false });
    await target.commit(positionOf('2'));
    expect(conn.trips.map(sqlOf)).toEqual([
      ['BEGIN', 'INSERT INTO drc_meta.tx_origin', '(SELECT 0 AS `drc key index`, `id`, `email`, `v` FROM `s`.`u` WHERE `id` = ? FOR UPDATE)'],
      ['WITH k AS'],
      ['SAVEPOINT drc_writes', 'INSERT INTO `s`.`u`'],
      ['INSERT INTO drc_meta.apply_position', 'COMMIT'],
    ]);
  });

  it('decides by the rules when an UPDATE by key touches no row (issue 12): the full image is inserted, an update-missing conflict recorded', async () => {
    const local = { id: 1, email: 'x@e', v: 5 };
    const conn = new RecordingConnection((call) => {
      if (call.sql.startsWith('(SELECT 0 AS `drc key index`')) return [{ 'drc key index': 0, ...local }];
      if (call.sql.startsWith('UPDATE `s`.`u`')) return { affectedRows: 0, insertId: 0, warningStatus: 0 }; // the row is not what was read
      return undefined;
    });
    const target = new TargetTransaction(conn, context('not-needed'));
    target.open(0, 'a', 'a-tx', 'a-pos');
    const update: RowChange = { schema: 's', table: 'u', op: 'update', key: { id: 1 }, before: local, after: { id: 1, email: 'y@e', v: 6 }, version: '6' };
    // Updates go in a round trip of their own (their row count is checked before COMMIT), even when the commit could take them.
    await target.apply([incoming(update)], { writeAtCommit: () => true });
    target.writeConflicts();
    await target.commit(positionOf('3'));
    expect(conn.trips.map(sqlOf)).toEqual([
      ['BEGIN', 'INSERT INTO drc_meta.tx_origin', '(SELECT 0 AS `drc key index`, `id`, `email`, `v` FROM `s`.`u` WHERE `id` = ? FOR UPDATE)'],
      ['SAVEPOINT drc_writes', 'UPDATE `s`.`u` SET `id` = ?, `email` = ?, `v` = ? WHERE `id` = ?'],
      ['ROLLBACK TO SAVEPOINT drc_writes'],
      ['UPDATE `s`.`u` SET `id` = ?, `email` = ?, `v` = ? WHERE `id` = ?'],
      ['INSERT INTO `s`.`u`'],
      ['INSERT INTO drc_meta.conflicts', 'INSERT INTO drc_meta.apply_position', 'COMMIT'],
    ]);
    expect(conn.trips[4]![0]!.params).toEqual([1, 'y@e', 6]);
    expect(target.conflicts.map((c) => [c.reason, c.decision])).toEqual([['update-missing', 'applied']]);
  });

  it('rolls back on request, forgetting what was deferred', async () => {
    const conn = new RecordingConnection(emptyTable());
    const target = new TargetTransaction(conn, context('not-needed'));
    target.open(0, 'a', 'a-tx', 'a-pos');
    await target.rollback();
    expect(conn.trips.map(sqlOf)).toEqual([['ROLLBACK']]);
  });

  it('checks for a new forced flip after the position and before COMMIT: a failed check commits nothing and is ForcedFlipRaced; another failure stays itself', async () => {
    const routed = (): TargetContext => ({
      ...context('not-needed'),
      ownership: new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: { 's.u': { function: 'hash', column: 'id' } }, global: {} }, { routing: new RoutingBook([]), mode: 'incoming', topology: 'drc' }),
    });
    const flipRow = { id: 'so-1', shard_from: 0, shard_to: 15, from_ezone: 'a', to_ezone: 'b', flip_version: 2, cut_offset: '3' };
    for (const checkFails of [true, false]) {
      let reads = 0;
      const script = emptyTable();
      const conn = new RecordingConnection((call) => {
        if (call.sql.startsWith('SELECT id, shard_from')) return reads++ === 0 ? [] : [flipRow];
        if (call.sql.startsWith('SELECT (SELECT 1 FROM drc_meta.switchovers s CROSS JOIN')) return driverError(1242, 'ER_SUBQUERY_NO_1_ROW', 'Subquery returns more than 1 row');
        if (!checkFails && call.sql.startsWith('INSERT INTO drc_meta.apply_position')) return driverError(1146, 'ER_NO_SUCH_TABLE', 'no table');
        return script(call);
      });
      const target = new TargetTransaction(conn, routed());
      target.open(3, 'a', 'a-tx', 'a-pos');
      await target.apply([{ ...incoming({ ...insert(1, 'x@e', 10), rv: 1 }), offset: '5' }]);
      target.writeConflicts();
      const committed = target.commit(positionOf('8'));
      if (checkFails) await expect(committed).rejects.toBeInstanceOf(ForcedFlipRaced);
      else await expect(committed).rejects.toMatchObject({ errno: 1146 });
      const last = conn.trips.find((t) => t.some((st) => st.sql === 'COMMIT'))!;
      expect(last.find((st) => st.sql === 'COMMIT')!.ran).toBe(false);
      // The check comes after the applied position's upsert.
      const at = (prefix: string) => last.findIndex((st) => st.sql.startsWith(prefix));
      expect(at('INSERT INTO drc_meta.apply_position')).toBeGreaterThanOrEqual(0);
      expect(at('SELECT (SELECT 1 FROM drc_meta.switchovers')).toBeGreaterThan(at('INSERT INTO drc_meta.apply_position'));
    }
  });
});
