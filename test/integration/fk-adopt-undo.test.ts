/**
 * Issue 13, review finding: children that fk-adopt.ts moves (foreign-key checks off) to a key change's
 * new key, when that key change's row then loses a unique collision at write time (a row that
 * appeared after the decisions, newer, holds its unique value), must not stay under a parent that is
 * never written. The applier's write step against a real server: the moved children go back where
 * they were.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { ConflictLog } from '../../src/apply/conflict-log.js';
import { tombstoneIdentity } from '../../src/apply/keys.js';
import { TableCache } from '../../src/apply/table-cache.js';
import type { Op } from '../../src/apply/types.js';
import { WriteBatcher } from '../../src/apply/write-batch.js';
import { ezoneOf } from '../../src/config/loader.js';
import { createPool } from '../../src/db/connect.js';
import { PipelinedSession } from '../../src/db/pipelined-session.js';
import { recordTombstonesStatement } from '../../src/db/tombstones.js';
import { describeWithServers } from '../support/env.js';
import { scenario, type Scenario } from '../support/scenario.js';

describeWithServers('foreign keys: adopted children and a unique collision lost at write time (issue 13)', () => {
  let s: Scenario | undefined;
  let pool: mysql.Pool | undefined;
  afterEach(async () => {
    await pool?.end();
    await s?.close();
    pool = undefined;
    s = undefined;
  });

  it('the key change 1 → 8 adopts the children an older move 1 → 15 took along, then loses its name to a newer row: the children go back to 15', async () => {
    s = await scenario('fk-adopt-undo', {}, { ezones: ['a'] });
    const db = s.db.a!;
    await db.query('CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, updated_at DATETIME(6) NOT NULL, UNIQUE KEY (name))');
    await db.query('CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)');
    // Here: the older move took row 1 to 15 with its child; a newer row 99 holds the name the incoming key change writes.
    await db.query("INSERT INTO p VALUES (15, 'x15', '2030-01-01 00:00:01'), (99, 'n8', '2031-01-01')");
    await db.query("INSERT INTO c (id, pid, updated_at) VALUES (10, 15, '2020-01-01')");

    pool = createPool(ezoneOf(s.config, 'a').mysql, 1, { multipleStatements: true, apply: true });
    const conn = await pool.getConnection();
    try {
      const tables = new TableCache(conn);
      const info = (await tables.get(s.schema, 'p'))!;
      const move = recordTombstonesStatement('applied_tombstones', [{ schema: s.schema, table: 'p', key: { id: 1 }, version: '1893456001000000', origin: 'a', identity: tombstoneIdentity(info), movedTo: { id: 15 } }])!;
      await conn.query(move.sql, move.params);

      const session = new PipelinedSession(conn);
      const log = new ConflictLog('a');
      const batcher = new WriteBatcher(session, () => ({ session, ezone: 'a', versionColumn: 'updated_at', conflicts: log }), { ezone: 'a', tables, versionColumnOf: () => 'updated_at' });
      const before = { id: 1, name: 'n8', updated_at: '2020-01-01 00:00:00.000000' };
      const after = { id: 8, name: 'n8', updated_at: '2030-01-01 00:00:02.000000' };
      // The new half of b's key change, decided as an insert here (its old key is gone): it adopts what the older move took along.
      const op: Op = {
        kind: 'insert',
        info,
        incoming: { change: { schema: s.schema, table: 'p', op: 'update', key: { id: 8 }, oldKey: { id: 1 }, before, after, version: '1893456002000000' }, origin: 'b', txId: 'b-1' },
        key: { id: 8 },
        image: after,
        adopt: { versionColumn: 'updated_at' },
      };
      await conn.query('BEGIN');
      await batcher.write([op], [], false);
      await conn.query('COMMIT');

      expect(log.records.map((r) => `${r.reason} ${r.decision}`).sort()).toEqual(['fk-parent-moved skipped', 'unique-collision skipped']); // nothing adopted in the end
    } finally {
      conn.release();
    }
    const [parents] = await db.query<mysql.RowDataPacket[]>('SELECT id FROM p ORDER BY id');
    expect(parents.map((r) => Number(r.id))).toEqual([15, 99]);
    const [children] = await db.query<mysql.RowDataPacket[]>('SELECT id, pid, updated_at FROM c');
    expect(children.map((r) => `${String(r.id)}:${String(r.pid)}:${String(r.updated_at).slice(0, 19)}`)).toEqual(['10:15:2020-01-01 00:00:00']);
    const [[orphans]] = await db.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM c LEFT JOIN p ON p.id = c.pid WHERE p.id IS NULL');
    expect(Number(orphans?.n)).toBe(0);
  });

  async function writeOne(op: (info: Op['info']) => Op, stones: (info: Op['info'], tables: TableCache) => Promise<Parameters<typeof recordTombstonesStatement>[1]>): Promise<string[]> {
    pool = createPool(ezoneOf(s!.config, 'a').mysql, 1, { multipleStatements: true, apply: true });
    const conn = await pool.getConnection();
    try {
      const tables = new TableCache(conn);
      const info = (await tables.get(s!.schema, 'p'))!;
      const move = recordTombstonesStatement('applied_tombstones', await stones(info, tables))!;
      await conn.query(move.sql, move.params);
      const session = new PipelinedSession(conn);
      const log = new ConflictLog('a');
      const batcher = new WriteBatcher(session, () => ({ session, ezone: 'a', versionColumn: 'updated_at', conflicts: log }), { ezone: 'a', tables, versionColumnOf: () => 'updated_at' });
      await conn.query('BEGIN');
      await batcher.write([op(info)], [], false);
      await conn.query('COMMIT');
      return log.records.map((r) => `${r.reason} ${r.decision}`).sort();
    } finally {
      conn.release();
    }
  }
  const moveTo15 = (info: Op['info']) => ({ schema: s!.schema, table: 'p', key: { id: 1 }, version: '1893456001000000', origin: 'a', identity: tombstoneIdentity(info), movedTo: { id: 15 } });
  const keyChange = (kind: Op['kind'], extra: Record<string, unknown> = {}) => (info: Op['info']): Op => {
    const before = { id: 1, name: 'n8', updated_at: '2020-01-01 00:00:00.000000', ...extra };
    const after = { id: 8, name: 'n8', updated_at: '2030-01-01 00:00:02.000000', ...extra };
    return { kind, info, incoming: { change: { schema: s!.schema, table: 'p', op: 'update', key: { id: 8 }, oldKey: { id: 1 }, before, after, version: '1893456002000000' }, origin: 'b', txId: 'b-1' }, key: { id: 8 }, image: after, adopt: { versionColumn: 'updated_at' } };
  };
  const rowsOf = async (sql: string) => ((await s!.db.a!.query<mysql.RowDataPacket[]>(sql))[0]).map((r) => Object.values(r).map(String).join(':'));

  it('decided as an update of a local row 8 that then loses its name to a newer row: exactly the adopted children go back to 15 before row 8 goes (its own child goes with it), the conflict skipped', async () => {
    s = await scenario('fk-adopt-undo-update', {}, { ezones: ['a'] });
    const db = s.db.a!;
    await db.query('CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, updated_at DATETIME(6) NOT NULL, UNIQUE KEY (name))');
    await db.query('CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)');
    await db.query("INSERT INTO p VALUES (15, 'x15', '2030-01-01 00:00:01'), (8, 'o8', '2020-01-01'), (99, 'n8', '2031-01-01')");
    await db.query("INSERT INTO c (id, pid, updated_at) VALUES (10, 15, '2020-01-01'), (20, 8, '2020-01-01')");

    const decided = await writeOne(keyChange('update'), async (info) => [moveTo15(info)]);
    expect(await rowsOf('SELECT id FROM p ORDER BY id')).toEqual(['15', '99']);
    expect(await rowsOf('SELECT id, pid FROM c ORDER BY id')).toEqual(['10:15']);
    expect(decided).toEqual(['fk-parent-moved skipped', 'unique-collision skipped']);
  });

  it('the adopting row dropped because its own parent was deleted here: the adopted children go back to 15 (none under the never-written key 8)', async () => {
    s = await scenario('fk-adopt-undo-parent', {}, { ezones: ['a'] });
    const db = s.db.a!;
    await db.query('CREATE TABLE g (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL)');
    await db.query('CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, gid INT NOT NULL, updated_at DATETIME(6) NOT NULL, FOREIGN KEY (gid) REFERENCES g (id) ON DELETE CASCADE)');
    await db.query('CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)');
    await db.query("INSERT INTO g VALUES (6, '2020-01-01')");
    await db.query("INSERT INTO p VALUES (15, 'x15', 6, '2030-01-01 00:00:01')");
    await db.query("INSERT INTO c (id, pid, updated_at) VALUES (10, 15, '2020-01-01')");

    // The incoming row's parent g 5 was deleted here, later than the key change (a newer tombstone).
    const decided = await writeOne(keyChange('insert', { gid: 5 }), async (info, tables) => [moveTo15(info), { schema: s!.schema, table: 'g', key: { id: 5 }, version: '2208988800000000', origin: 'c', identity: tombstoneIdentity((await tables.get(s!.schema, 'g'))!) }]);
    expect(await rowsOf('SELECT id FROM p ORDER BY id')).toEqual(['15']);
    expect(await rowsOf('SELECT id, pid FROM c ORDER BY id')).toEqual(['10:15']);
    expect(decided).toEqual(['fk-parent-missing skipped', 'fk-parent-moved skipped']);
  });
});
