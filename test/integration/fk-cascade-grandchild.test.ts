/**
 * Issue 13: a parent's delete cascades in its own ezone to children that have no tombstone there
 * (InnoDB's cascaded deletes are not in the binlog), while another ezone writes a grandchild under one
 * of them. In the ezone that wrote it, the parent's delete meets a grandchild its cascade cannot take
 * (RESTRICT: removed as a refusing child, at every level) or takes (CASCADE): no pause there. In the
 * delete's own ezone the grandchild's write meets a missing parent with no tombstone, which DRC cannot
 * tell from one that has yet to arrive (README, Foreign keys): retried, loudly — as it must be with
 * three ezones, where the parent may come on a third ezone's stream.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, eventually, scenario, type Scenario } from '../support/scenario.js';
import { sleep } from '../support/wait.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
const count = async (conn: mysql.Connection, sql: string): Promise<number> => Number(Object.values((await conn.query<mysql.RowDataPacket[]>(sql))[0][0]!)[0]);

describeWithServers('FK: a grandchild written under a child its parent’s cascade deleted elsewhere', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  for (const action of ['RESTRICT', 'CASCADE'] as const) {
    it(`grandchild ON DELETE ${action} inserted under the cascaded child: the delete's ezone removes it where it was written; its own stream from there retries, loudly`, async () => {
      s = await scenario(`fk-gc-${action.toLowerCase()}`, {}, { ezones: ['a', 'b'] });
      for (const ez of ['a', 'b']) {
        const db = s.db[ez]!;
        await db.query(`CREATE TABLE p (id INT PRIMARY KEY, ${VERSION})`);
        await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)`);
        await db.query(`CREATE TABLE g (id INT PRIMARY KEY, cid INT NOT NULL, ${VERSION}, FOREIGN KEY (cid) REFERENCES c (id) ON DELETE ${action})`);
      }
      daemons.push(...(await startDaemons(s, ['a', 'b'])));
      const { a, b } = s.db as Record<string, mysql.Connection>;
      await a!.query("INSERT INTO p (id, updated_at) VALUES (1, '2020-01-01'), (2, '2020-01-01')");
      await a!.query("INSERT INTO c (id, pid, updated_at) VALUES (10, 1, '2020-01-01'), (20, 2, '2020-01-01')");
      await converge(s, 'c', ['a', 'b'], { rows: 2 });
      await stopDaemons(daemons);
      // Concurrently: a deletes parent 1 (its cascade deletes child 10 in a, unrecorded); b writes grandchild 100 under child 10.
      await a!.query('DELETE FROM p WHERE id = 1');
      await b!.query('INSERT INTO g (id, cid) VALUES (100, 10)');
      daemons.push(...(await startDaemons(s, ['a', 'b'])));
      // b applies a's delete: the grandchild goes with it (its cascade, or removed as a refusing child) — no pause in b.
      await converge(s, 'p', ['a', 'b'], { rows: 1 });
      await eventually('the grandchild gone in b', async () => (await count(b!, 'SELECT COUNT(*) FROM g')) === 0);
      await converge(s, 'c', ['a', 'b'], { rows: 1 });
      expect(daemons[1]!.appliers.get('a')!.stats.retries).toBe(0);
      const inB = (await conflictsIn(s, 'b')).filter((c) => c.table_name === 'p').map((c) => [c.reason, c.decision]);
      expect(inB).toEqual(action === 'RESTRICT' ? [['fk-children-removed', 'applied']] : []);
      // In a the grandchild's parent is missing with no tombstone (a cascade victim): not decided, retried — and said.
      const fromB = daemons[0]!.appliers.get('b')!;
      await eventually('a retrying the grandchild', async () => fromB.stats.retries >= 2 && fromB.state.lastError !== undefined);
      expect(fromB.state.lastError?.message).toBe(`a parent of a row of ${s.schema}.g is not here yet (no tombstone: not deleted here); retrying`);
      expect(await count(a!, 'SELECT COUNT(*) FROM g')).toBe(0);
    }, 120_000);
  }

  it('a parent delete that loses to a newer write still removes the children older than it — and only those — when a grandchild under one of them refuses', async () => {
    s = await scenario('fk-gc-lost-delete', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, n INT NOT NULL DEFAULT 0, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)`);
      await db.query(`CREATE TABLE g (id INT PRIMARY KEY, cid INT NOT NULL, ${VERSION}, FOREIGN KEY (cid) REFERENCES c (id) ON DELETE RESTRICT)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const { a, b } = s.db as Record<string, mysql.Connection>;
    await a!.query("INSERT INTO p (id, updated_at) VALUES (1, '2020-01-01')");
    await a!.query("INSERT INTO c (id, pid, updated_at) VALUES (10, 1, '2020-01-01')");
    await converge(s, 'c', ['a', 'b'], { rows: 1 });
    await stopDaemons(daemons);
    // a deletes 1 (its cascade takes 10); later by the clocks b writes 1 (the delete loses), a child 11
    // under it (newer than the delete: it stays) and a grandchild under 10 (which the delete's cascade took in a).
    await a!.query('DELETE FROM p WHERE id = 1');
    // The delete, read by a's capture after its second (the daemon is down), has a whole second's
    // precision: b's writes come in a later second, clearly newer.
    await sleep(1_100);
    await b!.query('INSERT INTO g (id, cid) VALUES (100, 10)');
    await b!.query('UPDATE p SET n = 1 WHERE id = 1');
    await b!.query('INSERT INTO c (id, pid) VALUES (11, 1)');
    await b!.query('INSERT INTO g (id, cid) VALUES (110, 11)'); // under the newer child: stays
    daemons.push(...(await startDaemons(s, ['a', 'b']))); // (a retries b's grandchild, as above)
    await eventually('b applying a’s lost delete', async () => (await conflictsIn(s!, 'b')).some((c) => c.table_name === 'p' && c.reason === 'delete-diverged'));
    await eventually('the older child gone in b', async () => (await count(b!, 'SELECT COUNT(*) FROM c WHERE id = 10')) === 0);
    expect(await count(b!, 'SELECT COUNT(*) FROM g WHERE id = 100')).toBe(0);
    expect(await count(b!, 'SELECT COUNT(*) FROM c WHERE id = 11')).toBe(1); // newer than the delete: kept
    expect(await count(b!, 'SELECT COUNT(*) FROM g WHERE id = 110')).toBe(1); // and its own grandchild
    expect(await count(b!, 'SELECT COUNT(*) FROM p WHERE id = 1 AND n = 1')).toBe(1);
    expect((await conflictsIn(s, 'b')).filter((c) => c.table_name === 'p').map((c) => c.reason).sort()).toEqual(['delete-diverged', 'fk-children-removed']);
    expect(daemons[1]!.appliers.get('a')!.stats.retries).toBe(0);
  }, 120_000);

  it('three ezones: a grandchild arriving before its parent (a third ezone’s, delayed) is retried until the parent arrives, then written under it', async () => {
    s = await scenario('fk-gc-late', {}, { ezones: ['a', 'b', 'c'] });
    for (const ez of ['a', 'b', 'c']) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)`);
      await db.query(`CREATE TABLE g (id INT PRIMARY KEY, cid INT NOT NULL, ${VERSION}, FOREIGN KEY (cid) REFERENCES c (id) ON DELETE RESTRICT)`);
    }
    const { a, b, c: x } = s.db as Record<string, mysql.Connection>; // x: the third ezone (c), not table c
    daemons.push(...(await startDaemons(s, ['a', 'b', 'c'])));
    await a!.query("INSERT INTO p (id, updated_at) VALUES (2, '2020-01-01')");
    await converge(s, 'p', ['a', 'b', 'c'], { rows: 1 });
    // a's applier cannot insert child 30 (x's) while this session holds the gap where it goes.
    const holder = await connectEzone('a', s.schema);
    try {
      await holder.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await holder.beginTransaction();
      await holder.query('SELECT * FROM c WHERE id = 30 FOR UPDATE');
      await x!.query('INSERT INTO c (id, pid) VALUES (30, 2)');
      await converge(s, 'c', ['b', 'c'], { rows: 1 });
      await b!.query('INSERT INTO g (id, cid) VALUES (300, 30)');
      await converge(s, 'g', ['b', 'c'], { rows: 1 });
      // In a, the grandchild came first: its parent is missing with no tombstone — with three ezones a
      // third one's stream may still bring it (as here), so the write is retried, not dropped.
      await eventually('a retrying the grandchild', async () => daemons[0]!.appliers.get('b')!.stats.retries > 0);
      expect(await count(a!, 'SELECT COUNT(*) FROM g')).toBe(0);
    } finally {
      await holder.rollback().catch(() => undefined);
      await holder.end();
    }
    await converge(s, 'g', ['a', 'b', 'c'], { rows: 1, timeoutMs: 30_000 });
    await converge(s, 'c', ['a', 'b', 'c'], { rows: 1 });
    expect((await conflictsIn(s, 'a')).filter((c) => c.table_name === 'g')).toEqual([]);
  }, 120_000);
});
