import { describe, expect, it } from 'vitest';
import { PipelinedSession } from '../db/pipelined-session.js';
import { driverError, RecordingConnection } from '../db/recording-session.js';
import { classifyMysqlError, errnoOf } from '../db/mysql-errors.js';
import type { ForeignKey } from '../db/table-keys.js';
import { LOSER_ORIGIN } from '../db/tombstones.js';
import type { Row } from '../model/value.js';
import { backToSavepoint } from './fk-waiting.js';
import { removedChildren } from './fk-children.js';
import type { FkContext } from './fk-parents.js';
import type { TableInfo, TableSource } from './table-cache.js';

// p (id) ← c (id, pid, v) CASCADE ← g (id, cid, v) CASCADE
const fk = (table: string, column: string, refTable: string): ForeignKey => ({ name: `${table}_fk`, schema: 's', table, columns: [column], refSchema: 's', refTable, refColumns: ['id'], autoUpdated: [], onUpdate: 'CASCADE', onDelete: 'CASCADE' });
const toC = fk('c', 'pid', 'p');
const toG = fk('g', 'cid', 'c');
const info = (cols: string[], referencedBy: ForeignKey[]): TableInfo => ({ columns: new Set(cols), primaryKey: ['id'], uniqueKeys: [], referencedBy, columnMeta: cols.map((name) => ({ name, dataType: 'BIGINT' })) }) as unknown as TableInfo;
const infos: Record<string, TableInfo> = { c: info(['id', 'pid', 'v'], [toG]), g: info(['id', 'cid', 'v'], []) };
const ctx: FkContext = { tables: { get: async (_s: string, t: string) => infos[t] ?? null } as unknown as TableSource, versionColumnOf: () => 'v' };

/** A session holding the child tables' rows: answers each SELECT … IN (…) ORDER BY id LIMIT n as the server would, and records the SQL. */
function holding(rows: Record<string, Row[]>, sqls: string[][]): PipelinedSession {
  return {
    roundTrip: async (statements: { sql: string; params: unknown[] }[]) => {
      sqls.push(statements.map((s) => s.sql));
      return statements.map((s) => {
        const table = /FROM `s`\.`(\w+)`/.exec(s.sql)?.[1] as string;
        const column = table === 'c' ? 'pid' : 'cid';
        const limit = Number(/LIMIT (\d+)/.exec(s.sql)?.[1] ?? Infinity);
        return (rows[table] ?? []).filter((r) => s.params.includes(r[column])).sort((a, b) => Number(a.id) - Number(b.id)).slice(0, limit);
      });
    },
  } as unknown as PipelinedSession;
}
const from = { origin: 'a', txId: 't' };

describe('fk-waiting removedChildren: what a unique loser’s removal takes along', () => {
  it('tombstones every stashed row under LOSER_ORIGIN just below its version, grandchildren too (a grandchild write then waits behind its parent)', async () => {
    const rows = { c: [{ id: 1, pid: 9, v: 100 }], g: [{ id: 5, cid: 1, v: 200 }] };
    const removed = await removedChildren(holding(rows, []), ctx, [toC], { id: 9 }, from);
    expect(removed.children.map((c) => [c.table, c.key, c.version])).toEqual([['c', { id: 1 }, '100'], ['g', { id: 5 }, '200']]);
    expect(removed.tombstones.map((t) => [t.table, t.key, t.version, t.origin])).toEqual([['c', { id: 1 }, '99', LOSER_ORIGIN], ['g', { id: 5 }, '199', LOSER_ORIGIN]]);
  });

  it('enforces the cap per query (LIMIT, primary-key order: the same rows everywhere), one SELECT per level for many parents', async () => {
    const rows = { c: [3, 1, 2].map((id) => ({ id, pid: 9, v: 100 + id })), g: [1, 2, 3].flatMap((cid) => [{ id: cid * 10, cid, v: 1 }, { id: cid * 10 + 1, cid, v: 1 }]) };
    const sqls: string[][] = [];
    const removed = await removedChildren(holding(rows, sqls), ctx, [toC], { id: 9 }, from, undefined, 5);
    expect(removed.children.map((c) => `${c.table}${String(c.key.id)}`)).toEqual(['c1', 'c2', 'c3', 'g10', 'g11']);
    expect(sqls.map((trip) => trip.map((s) => /ORDER BY `id` LIMIT \d+/.exec(s)?.[0]))).toEqual([['ORDER BY `id` LIMIT 5'], ['ORDER BY `id` LIMIT 2']]);
    const two = await removedChildren(holding(rows, []), ctx, [toC], { id: 9 }, from, undefined, 2);
    expect(two.children.map((c) => `${c.table}${String(c.key.id)}`)).toEqual(['c1', 'c2']);
  });
});

describe('fk-waiting backToSavepoint: a waiting child whose write failed', () => {
  const lockWait = () => driverError(1205, 'ER_LOCK_WAIT_TIMEOUT', 'Lock wait timeout exceeded; try restarting transaction');
  it('a lock wait timeout under innodb_rollback_on_timeout (the savepoint gone with the transaction): the timeout is thrown, transient, not the 1305', async () => {
    const conn = new RecordingConnection((call) => (call.sql.startsWith('ROLLBACK TO SAVEPOINT') ? driverError(1305, 'ER_SP_DOES_NOT_EXIST', 'SAVEPOINT drc_waiting does not exist') : undefined));
    const err = await backToSavepoint(new PipelinedSession(conn), lockWait()).then(() => undefined, (e: unknown) => e);
    expect(errnoOf(err)).toBe(1205);
    expect(classifyMysqlError(err)?.retryable).toBe(true);
  });
  it('a deadlock (always the whole transaction): thrown without a ROLLBACK TO SAVEPOINT', async () => {
    const conn = new RecordingConnection(() => undefined);
    const err = await backToSavepoint(new PipelinedSession(conn), driverError(1213, 'ER_LOCK_DEADLOCK')).then(() => undefined, (e: unknown) => e);
    expect(errnoOf(err)).toBe(1213);
    expect(conn.trips).toEqual([]);
  });
  it('a statement-only error: back to the savepoint, nothing thrown', async () => {
    const conn = new RecordingConnection(() => undefined);
    await backToSavepoint(new PipelinedSession(conn), lockWait());
    expect(conn.trips.flat().map((s) => s.sql)).toEqual(['ROLLBACK TO SAVEPOINT drc_waiting']);
  });
});
