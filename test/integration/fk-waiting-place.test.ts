/**
 * The sweep that places children waiting in drc_meta.fk_waiting (src/apply/fk-waiting.ts placeWaiting),
 * run against a real server inside a transaction that is rolled back (so other tests' waiting rows on the
 * same server are left as they were):
 *
 * - a waiting child yields only to a row at its key that is not older than it: an older row (a
 *   bootstrap's copy of the key, read from SOURCE before a third ezone's newer write reached it) is
 *   replaced by the waiting image; a newer row wins and the waiting image is dropped;
 * - a deadlock while a waiting child is written rolls back the whole transaction, savepoint included:
 *   the sweep throws the deadlock (transient: the transaction retries), not the server's 1305
 *   "savepoint does not exist" for its ROLLBACK TO SAVEPOINT;
 * - the row at the key is read locked: a newer write there not committed yet (another applier's) is
 *   waited for and wins, never overwritten by the older waiting image;
 * - a unique value of the waiting image held by another row: rule 5 as on the apply path (the newer
 *   image keeps the value, the older holder is removed with a tombstone — the waiting image losing to
 *   a newer holder takes the older row at its key with it), and the claims are recorded; a recorded
 *   claim newer than the image (of a row gone since) makes it lose likewise;
 * - a tombstone of the key newer than the waiting image: it waits no more, even over an older row at
 *   its key (a bootstrap's chunk written after the delete).
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { placeWaiting, stashStatement } from '../../src/apply/fk-waiting.js';
import type { WaitingChild } from '../../src/apply/fk-children.js';
import { TableCache } from '../../src/apply/table-cache.js';
import { tombstoneIdentity } from '../../src/apply/keys.js';
import { recordTombstonesStatements } from '../../src/db/tombstones.js';
import { ezoneOf } from '../../src/config/loader.js';
import { createPool } from '../../src/db/connect.js';
import { ensureMetaSchema } from '../../src/db/meta-schema.js';
import { classifyMysqlError, errnoOf } from '../../src/db/mysql-errors.js';
import { PipelinedSession } from '../../src/db/pipelined-session.js';
import { describeWithServers } from '../support/env.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { sleep } from '../support/wait.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
/** 2030-01-01 00:00:00 UTC in epoch microseconds (a version). */
const V2030 = '1893456000000000';

describeWithServers('fk_waiting: placing a waiting child against the row at its key, and under a deadlock', () => {
  let s: Scenario | undefined;
  let pool: mysql.Pool | undefined;
  let sweeps = 0;
  afterEach(async () => {
    await pool?.end();
    pool = undefined;
    await s?.close();
    s = undefined;
  });

  async function setUp(name: string, unique = false) {
    s = await scenario(name, {}, { ezones: ['a'] });
    const db = s.db.a!;
    await db.query(`CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL, ${VERSION})`);
    await db.query(`CREATE TABLE ch (id INT PRIMARY KEY, pid INT NOT NULL, v VARCHAR(10) NOT NULL${unique ? ' UNIQUE' : ''}, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)`);
    await db.query("INSERT INTO p (id, v, updated_at) VALUES (1, 'p1', '2020-01-01'), (2, 'p2', '2020-01-01')");
    pool = createPool(ezoneOf(s.config, 'a').mysql, 2, { multipleStatements: true, apply: true });
    const conn = await pool.getConnection();
    await ensureMetaSchema(conn);
    await conn.query('SET SESSION innodb_lock_wait_timeout = 30');
    const tables = new TableCache(conn);
    const ctx = { tables, versionColumnOf: () => 'updated_at' };
    const session = new PipelinedSession(conn);
    const child = (v: string): WaitingChild => ({ schema: s!.schema, table: 'ch', key: { id: 10 }, version: V2030, image: { id: 10, pid: 1, v, updated_at: '2030-01-01 00:00:00.000000' }, origin: 'b', txId: 'b-1' });
    // A distinct ezone per sweep: the sweep state (at most one a second) is per ezone and per process.
    const sweep = () => placeWaiting(`test-${++sweeps}`, session, ctx);
    const stash = (c: WaitingChild) => session.roundTrip([stashStatement(`test-${sweeps + 1}`, c)]);
    const value = async () => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT v FROM ${s!.schema}.ch WHERE id = 10`);
      return rows.map((r) => String(r.v));
    };
    const waitingRows = async () => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM drc_meta.fk_waiting WHERE schema_name = ?', [s!.schema]);
      return Number(rows[0]?.n);
    };
    return { conn, session, child, sweep, stash, value, waitingRows };
  }

  it('an older row at the waiting child’s key (a bootstrap’s copy) is replaced by the waiting image; a newer row wins', async () => {
    const { conn, child, sweep, stash, value, waitingRows } = await setUp('fk-waiting-older');
    await conn.query('BEGIN');
    try {
      await conn.query(`INSERT INTO ${s!.schema}.ch (id, pid, v, updated_at) VALUES (10, 1, 'copied', '2025-01-01')`);
      await stash(child('newer'));
      const { placed } = await sweep();
      expect(placed.filter((c) => c.schema === s!.schema).map((c) => [c.image.v, c.replaced?.v])).toEqual([['newer', 'copied']]);
      expect(await value()).toEqual(['newer']);
      expect(await waitingRows()).toBe(0);

      // A row newer than the waiting image: it stays, the waiting image goes.
      await conn.query(`UPDATE ${s!.schema}.ch SET v = 'newest', updated_at = '2031-01-01' WHERE id = 10`);
      await stash(child('waiting'));
      const second = await sweep();
      expect(second.placed.filter((c) => c.schema === s!.schema)).toEqual([]);
      expect(await value()).toEqual(['newest']);
      expect(await waitingRows()).toBe(0);

      // A row of the same version: the tie-break on the images decides, as for any write (rule 2), and a second sweep changes nothing.
      await conn.query(`UPDATE ${s!.schema}.ch SET v = 'a-tie', updated_at = '2030-01-01' WHERE id = 10`);
      await stash(child('z-tie'));
      await sweep();
      const tie = await value();
      await stash(child('z-tie'));
      await sweep();
      expect(await value()).toEqual(tie);
    } finally {
      await conn.query('ROLLBACK');
      conn.release();
    }
  });

  it('a deadlock while a waiting child is written: the sweep throws the deadlock (transient), not “savepoint does not exist”', async () => {
    const { conn, child, sweep, stash } = await setUp('fk-waiting-deadlock');
    await s!.db.a!.query('CREATE TABLE big (id INT PRIMARY KEY)');
    const other = await connectEzone('a', s!.schema);
    try {
      await conn.query('BEGIN');
      await stash(child('waiting'));
      await conn.query(`UPDATE ${s!.schema}.p SET v = 'mine' WHERE id = 1`); // this transaction holds parent 1
      // The other transaction is the heavier one (2000 rows): InnoDB picks the sweep's as the victim.
      await other.query('BEGIN');
      await other.query('INSERT INTO big SELECT seq FROM seq_1_to_2000');
      await other.query("INSERT INTO ch (id, pid, v) VALUES (10, 2, 'other')"); // holds key 10, uncommitted
      const placing = sweep().then(
        () => undefined,
        (err: unknown) => err,
      );
      await sleep(1500); // the sweep's insert of key 10 waits for the other transaction
      const theirs = other.query("UPDATE p SET v = 'theirs' WHERE id = 1"); // waits for the sweep's: a cycle
      const err = await placing;
      await theirs;
      expect(errnoOf(err), String(err)).toBe(1213);
      expect(classifyMysqlError(err)?.retryable).toBe(true);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.end();
      await conn.query('ROLLBACK').catch(() => undefined);
      conn.release();
    }
  });
  it('a newer write at the key not committed yet when the sweep reads it: the sweep waits for it and the newer row stays (the row is read FOR UPDATE)', async () => {
    const { conn, child, sweep, stash, value, waitingRows } = await setUp('fk-waiting-race');
    await s!.db.a!.query(`INSERT INTO ch (id, pid, v, updated_at) VALUES (10, 1, 'copied', '2025-01-01')`);
    const other = await connectEzone('a', s!.schema);
    try {
      await other.query('BEGIN');
      await other.query("UPDATE ch SET v = 'newest', updated_at = '2031-01-01' WHERE id = 10"); // another applier's newer write, uncommitted
      await conn.query('BEGIN');
      await stash(child('newer'));
      const placing = sweep();
      await sleep(1500);
      await other.query('COMMIT');
      const { placed } = await placing;
      expect(placed.filter((c) => c.schema === s!.schema)).toEqual([]);
      expect(await value()).toEqual(['newest']);
      expect(await waitingRows()).toBe(0);
    } finally {
      await conn.query('ROLLBACK').catch(() => undefined);
      await other.end();
      conn.release();
    }
  });
  it('a unique value of the waiting image held by an older other row: that row loses (removed, tombstoned) and the image replaces the older row at its key; a newer holder keeps the value and the image loses; claims recorded', async () => {
    const { conn, child, sweep, stash, waitingRows } = await setUp('fk-waiting-unique', true);
    const table = async () => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT id, v FROM ${s!.schema}.ch ORDER BY id`);
      return rows.map((r) => [Number(r.id), String(r.v)]);
    };
    const count = async (sql: string) => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(sql, [s!.schema]);
      return Number(rows[0]?.n);
    };
    await conn.query('BEGIN');
    try {
      // An ezone where the image (10, 'newer', 2030) came in order ends with it alone: 11 (2024) loses 'newer' to it (rule 5).
      await conn.query(`INSERT INTO ${s!.schema}.ch (id, pid, v, updated_at) VALUES (10, 1, 'copied', '2025-01-01'), (11, 1, 'newer', '2024-01-01')`);
      await stash(child('newer'));
      const claimsBefore = await count("SELECT COUNT(*) AS n FROM drc_meta.unique_claims WHERE origin <> '' AND ? IS NOT NULL");
      const first = await sweep();
      expect(first.placed.filter((c) => c.schema === s!.schema).map((c) => [c.image.v, c.replaced?.v])).toEqual([['newer', 'copied']]);
      expect(await table()).toEqual([[10, 'newer']]);
      expect(await waitingRows()).toBe(0);
      expect(await count("SELECT COUNT(*) AS n FROM drc_meta.applied_tombstones WHERE schema_name = ? AND table_name = 'ch'"), 'the loser’s tombstone').toBe(1);
      // (A claim row keeps the schema and table of the placeholder that locked it first: counted over all.)
      expect((await count("SELECT COUNT(*) AS n FROM drc_meta.unique_claims WHERE origin <> '' AND ? IS NOT NULL")) - claimsBefore, 'claims of the image (its value, the loser’s) and of the replaced row').toBe(2);

      // A holder newer than the waiting image: it keeps the value; the image loses, and the older row at its key goes with it.
      await conn.query(`DELETE FROM ${s!.schema}.ch`);
      await conn.query(`INSERT INTO ${s!.schema}.ch (id, pid, v, updated_at) VALUES (10, 1, 'copied', '2025-01-01'), (11, 1, 'newer', '2035-01-01')`);
      await stash(child('newer'));
      const second = await sweep();
      expect(second.placed.filter((c) => c.schema === s!.schema)).toEqual([]);
      expect(await table()).toEqual([[11, 'newer']]);
      expect(await waitingRows()).toBe(0);
    } finally {
      await conn.query('ROLLBACK');
      conn.release();
    }
  });
  it('an older row at the key and a tombstone of the key newer than the waiting image: the image is superseded (deleted since), not placed', async () => {
    const { conn, session, child, sweep, stash, value, waitingRows } = await setUp('fk-waiting-stone');
    await conn.query('BEGIN');
    try {
      await conn.query(`INSERT INTO ${s!.schema}.ch (id, pid, v, updated_at) VALUES (10, 1, 'copied', '2025-01-01')`);
      const info = await new TableCache(conn).get(s!.schema, 'ch');
      // 2031-01-01 UTC: a delete newer than the waiting image (2030).
      await session.roundTrip(recordTombstonesStatements('applied_tombstones', [{ schema: s!.schema, table: 'ch', key: { id: 10 }, version: '1924992000000000', origin: 'c', identity: tombstoneIdentity(info!) }]));
      await stash(child('newer'));
      const { placed } = await sweep();
      expect(placed.filter((c) => c.schema === s!.schema)).toEqual([]);
      expect(await value()).toEqual(['copied']);
      expect(await waitingRows()).toBe(0);
    } finally {
      await conn.query('ROLLBACK');
      conn.release();
    }
  });
  it('a recorded claim of its unique value newer than the waiting image (a row gone since): the image loses and the older row at its key goes with it', async () => {
    const { conn, child, sweep, stash, waitingRows } = await setUp('fk-waiting-claim', true);
    const table = async () => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT id, v FROM ${s!.schema}.ch ORDER BY id`);
      return rows.map((r) => [Number(r.id), String(r.v)]);
    };
    await conn.query('BEGIN');
    try {
      // X (12, 'newer', 2036) is placed over the older holder 11: X's claim of 'newer' is recorded. Then X goes (removed here, no claim of its own).
      await conn.query(`INSERT INTO ${s!.schema}.ch (id, pid, v, updated_at) VALUES (11, 1, 'newer', '2024-01-01')`);
      await stash({ ...child('newer'), key: { id: 12 }, version: '2082758400000000', image: { id: 12, pid: 1, v: 'newer', updated_at: '2036-01-01 00:00:00.000000' } });
      await sweep();
      expect(await table()).toEqual([[12, 'newer']]);
      await conn.query(`DELETE FROM ${s!.schema}.ch WHERE id = 12`);
      // The waiting image (10, 'newer', 2030): no row holds 'newer', but X's claim (2036) is newer — where it came in order, X had beaten it.
      await conn.query(`INSERT INTO ${s!.schema}.ch (id, pid, v, updated_at) VALUES (10, 1, 'copied', '2025-01-01')`);
      await stash(child('newer'));
      const { placed } = await sweep();
      expect(placed.filter((c) => c.schema === s!.schema)).toEqual([]);
      expect(await table()).toEqual([]);
      expect(await waitingRows()).toBe(0);
    } finally {
      await conn.query('ROLLBACK');
      conn.release();
    }
  });
});
