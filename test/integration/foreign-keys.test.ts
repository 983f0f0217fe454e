/**
 * Issue 13, foreign keys: the origin's foreign_key_checks per event, a primary-key change as one
 * UPDATE (ON UPDATE CASCADE children follow, ON DELETE CASCADE children survive), FK violations from
 * concurrent changes as conflicts with one outcome in every ezone (a parent's delete wins), and
 * parallel apply keeping parent before child. Every scenario ends with CHECKSUM TABLE equal in both
 * ezones and no stream paused or retrying.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

async function checksum(conn: mysql.Connection, table: string): Promise<string> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
  return String(rows[0]?.Checksum);
}

/** Every table identical in a and b (contents, then CHECKSUM TABLE); returns a's contents per table. */
async function convergeAll(s: Scenario, tables: Record<string, number>): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, rows] of Object.entries(tables)) {
    out[table] = JSON.parse(await converge(s, table, ['a', 'b'], { rows, timeoutMs: 90_000 })) as unknown[];
    expect(await checksum(s.db.a!, table), table).toBe(await checksum(s.db.b!, table));
  }
  return out;
}

/** No applier paused, and (when asked) none retried a group: no FK error was ever met. */
function healthy(daemons: Daemon[], noRetries = false): void {
  for (const d of daemons) {
    for (const [origin, applier] of d.appliers) {
      expect(applier.stats.paused, `${origin} → ${d.ezone}`).toBeUndefined();
      if (noRetries) expect(applier.stats.retries, `${origin} → ${d.ezone} retries`).toBe(0);
    }
  }
}

const decisions = async (s: Scenario, ez: string) => (await conflictsIn(s, ez)).map((c) => `${c.table_name} ${c.reason} ${c.decision}`).sort();

describeWithServers('foreign keys (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('a parent deleted in a while b writes its children: CASCADE, SET NULL and RESTRICT children end alike in both ezones, as conflicts', async () => {
    s = await scenario('fk-concurrent', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query('CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL, updated_at DATETIME(6) NOT NULL)');
      for (const [name, action] of [['c_cascade', 'CASCADE'], ['c_null', 'SET NULL'], ['c_restrict', 'RESTRICT']]) {
        await db.query(`CREATE TABLE ${name} (id INT PRIMARY KEY, pid INT NULL, v VARCHAR(10) NOT NULL, updated_at DATETIME(6) NOT NULL, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE ${action} ON UPDATE CASCADE)`);
      }
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const a = s.db.a!;
    const b = s.db.b!;
    await a.query("INSERT INTO p VALUES (1, 'p1', '2020-01-01'), (2, 'p2', '2020-01-01'), (3, 'p3', '2020-01-01'), (4, 'p4', '2020-01-01')");
    await a.query("INSERT INTO c_cascade VALUES (10, 1, 'c', '2020-01-01'), (11, 4, 'kept', '2020-01-01')");
    await a.query("INSERT INTO c_null VALUES (20, 2, 'c', '2020-01-01')");
    await convergeAll(s, { p: 4, c_cascade: 2, c_null: 1, c_restrict: 0 });
    await stopDaemons(daemons);

    // Concurrent: a deletes parents 1-3 (its own cascade removes 10, sets 20's pid NULL); b writes their children.
    await a.query('DELETE FROM p WHERE id IN (1, 2, 3)');
    await b.query("UPDATE c_cascade SET v = 'b', updated_at = '2030-01-01' WHERE id = 10");
    await b.query("UPDATE c_null SET v = 'b', updated_at = '2030-01-01' WHERE id = 20");
    await b.query("INSERT INTO c_restrict VALUES (30, 3, 'b', '2030-01-01')");
    await b.query("INSERT INTO c_cascade VALUES (12, 2, 'b', '2030-01-01')");
    daemons.push(...(await startDaemons(s, ['a', 'b'])));

    const rows = await convergeAll(s, { p: 1, c_cascade: 1, c_null: 1, c_restrict: 0 });
    expect(rows.c_cascade).toMatchObject([{ id: 11, pid: 4 }]);
    expect(rows.c_null).toMatchObject([{ id: 20, pid: null, v: 'b' }]); // b's write, with the reference SET NULL
    await eventually('conflicts recorded', async () => (await decisions(s!, 'a')).length >= 4 && (await decisions(s!, 'b')).length >= 1);
    expect(await decisions(s, 'a')).toEqual(
      [
        'c_cascade fk-parent-missing skipped', // 12: inserted under a deleted parent
        'c_cascade fk-parent-missing skipped', // 10: its update arrives after the cascade removed it
        'c_cascade update-missing applied',
        'c_null fk-parent-missing applied',
        'c_null update-diverged applied',
        'c_restrict fk-parent-missing skipped',
      ].sort(),
    );
    expect(await decisions(s, 'b')).toEqual(['p fk-children-removed applied']);
    healthy(daemons);

    // Nothing is stuck and the checks are back on: later writes flow both ways.
    await b.query("INSERT INTO p VALUES (5, 'p5', '2031-01-01')");
    await a.query("INSERT INTO c_restrict VALUES (31, 4, 'a', '2031-01-01')");
    await convergeAll(s, { p: 2, c_restrict: 1 });
  });

  it('a parent deleted in a while b writes a child and a grandchild (RESTRICT all the way): neither survives anywhere', async () => {
    s = await scenario('fk-grandchild', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query('CREATE TABLE p (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL)');
      await db.query('CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL, FOREIGN KEY (pid) REFERENCES p (id))');
      await db.query('CREATE TABLE gc (id INT PRIMARY KEY, cid INT NOT NULL, updated_at DATETIME(6) NOT NULL, FOREIGN KEY (cid) REFERENCES c (id))');
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query("INSERT INTO p VALUES (1, '2020-01-01'), (2, '2020-01-01')");
    await convergeAll(s, { p: 2 });
    await stopDaemons(daemons);
    await s.db.a!.query('DELETE FROM p WHERE id = 1');
    // One transaction in b (child and grandchild together), and one each.
    await s.db.b!.query("BEGIN; INSERT INTO c VALUES (10, 1, '2030-01-01'); INSERT INTO gc VALUES (100, 10, '2030-01-01'); COMMIT");
    await s.db.b!.query("INSERT INTO c VALUES (11, 1, '2030-01-01')");
    await s.db.b!.query("INSERT INTO gc VALUES (110, 11, '2030-01-01')");
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await convergeAll(s, { p: 1, c: 0, gc: 0 });
    await eventually('conflicts recorded', async () => (await decisions(s!, 'a')).length >= 4 && (await decisions(s!, 'b')).length >= 1);
    expect(await decisions(s, 'a')).toEqual(['c fk-parent-missing skipped', 'c fk-parent-missing skipped', 'gc fk-parent-missing skipped', 'gc fk-parent-missing skipped']);
    expect(await decisions(s, 'b')).toEqual(['p fk-children-removed applied']);
    healthy(daemons);
  });

  it('a primary-key change travels as one UPDATE: ON UPDATE CASCADE children follow, ON DELETE CASCADE children survive, UPDATE … SET id = id + 1 over many rows', async () => {
    s = await scenario('fk-key-change', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query('CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
      await db.query('CREATE TABLE c_restrict (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), FOREIGN KEY (pid) REFERENCES p (id) ON DELETE RESTRICT ON UPDATE CASCADE)');
      await db.query('CREATE TABLE c_cascade (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)');
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const a = s.db.a!;
    const b = s.db.b!;
    await a.query("INSERT INTO p (id, v) SELECT seq, CONCAT('p', seq) FROM seq_1_to_40");
    await a.query('INSERT INTO c_restrict (id, pid) SELECT seq, seq FROM seq_1_to_40');
    await convergeAll(s, { p: 40, c_restrict: 40 });
    // Children written in b (ON DELETE CASCADE): a delete + insert of their parent would remove them in b.
    await b.query('INSERT INTO c_cascade (id, pid) SELECT seq, seq FROM seq_1_to_40');
    await convergeAll(s, { c_cascade: 40 });

    await a.query('UPDATE p SET id = 1000 WHERE id = 1');
    let rows = await convergeAll(s, { p: 40, c_restrict: 40, c_cascade: 40 });
    expect(rows.c_restrict).toContainEqual(expect.objectContaining({ id: 1, pid: 1000 }));
    expect(rows.c_cascade).toContainEqual(expect.objectContaining({ id: 1, pid: 1000 }));

    // One statement moving every row: the rows arrive in the order the server ran them (highest first).
    await a.query('UPDATE p SET id = id + 1 ORDER BY id DESC');
    rows = await convergeAll(s, { p: 40, c_restrict: 40, c_cascade: 40 });
    expect((rows.p as { id: number }[]).map((r) => r.id)).toEqual([...Array.from({ length: 39 }, (_, i) => i + 3), 1001]);
    expect(rows.c_cascade).toContainEqual(expect.objectContaining({ id: 2, pid: 3 }));
    // And down again, lowest first, from b.
    await b.query('UPDATE p SET id = id - 1 ORDER BY id ASC');
    rows = await convergeAll(s, { p: 40, c_restrict: 40, c_cascade: 40 });
    expect((rows.c_restrict as { id: number; pid: number }[]).find((r) => r.id === 40)?.pid).toBe(40);
    expect(await conflictsIn(s, 'a')).toEqual([]);
    expect(await conflictsIn(s, 'b')).toEqual([]);
    healthy(daemons, true);

  });

  it('a key change in a while b updates the same parent: both ezones end alike, ON UPDATE CASCADE children with the newest write of their parent', async () => {
    s = await scenario('fk-key-race', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query('CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL, updated_at DATETIME(6) NOT NULL)');
      await db.query('CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)');
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const a = s.db.a!;
    const b = s.db.b!;
    await a.query("INSERT INTO p VALUES (5, 'p', '2020-01-01'), (6, 'p', '2020-01-01')");
    await a.query("INSERT INTO c VALUES (1, 5, '2020-01-01'), (2, 5, '2020-01-01'), (3, 6, '2020-01-01')");
    await convergeAll(s, { p: 2, c: 3 });
    await stopDaemons(daemons);
    await a.query("UPDATE p SET id = id * 100, updated_at = '2030-01-01 00:00:01' WHERE id IN (5, 6)");
    await b.query("UPDATE p SET v = 'newer', updated_at = '2030-01-01 00:00:02' WHERE id = 5"); // newer than the key change
    await b.query("UPDATE p SET v = 'older', updated_at = '2030-01-01 00:00:00' WHERE id = 6"); // older than the key change
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const rows = await convergeAll(s, { p: 3, c: 3 });
    // Row 5's newer update survives at key 5 (delete + insert semantics) and keeps its children (a moves
    // back those its cascade took to 500: fk-adopt.ts); row 6's older one is gone with its key, its child at 600.
    expect((rows.p as { id: number; v: string }[]).map((r) => `${r.id}:${r.v}`)).toEqual(['5:newer', '500:p', '600:p']);
    expect((rows.c as { id: number; pid: number }[]).map((r) => `${r.id}:${r.pid}`)).toEqual(['1:5', '2:5', '3:600']);
    healthy(daemons);
  });

  it('parent and child inserted in separate source transactions, applied in parallel: never an FK error', async () => {
    s = await scenario('fk-parallel', { apply: { workers: 4, groupMaxTransactions: 1 } }, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query('CREATE TABLE p (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
      await db.query('CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), FOREIGN KEY (pid) REFERENCES p (id))');
      await db.query('CREATE TABLE gc (id INT PRIMARY KEY, cid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), FOREIGN KEY (cid) REFERENCES c (id))');
    }
    const a = s.db.a!;
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    // Written while b's applier is down: a backlog the four workers take in parallel.
    const applierOfB = daemons[1]!;
    await stopDaemons(daemons.splice(1, 1));
    expect(applierOfB.ezone).toBe('b');
    for (let i = 1; i <= 150; i++) {
      await a.query('INSERT INTO p (id) VALUES (?)', [i]);
      await a.query('INSERT INTO c (id, pid) VALUES (?, ?)', [i, i]);
      await a.query('INSERT INTO gc (id, cid) VALUES (?, ?)', [i, i]);
    }
    for (let i = 1; i <= 50; i++) {
      await a.query('DELETE FROM gc WHERE id = ?', [i]);
      await a.query('DELETE FROM c WHERE id = ?', [i]);
      await a.query('DELETE FROM p WHERE id = ?', [i]);
    }
    daemons.push(...(await startDaemons(s, ['b'])));
    await convergeAll(s, { p: 100, c: 100, gc: 100 });
    expect(await conflictsIn(s, 'b')).toEqual([]);
    healthy(daemons, true);
  });

  it('three ezones: a child from a reaching c before its parent from b is retried until the parent arrives, never dropped', async () => {
    s = await scenario('fk-three', {}, { ezones: ['a', 'b', 'c'] });
    for (const ez of ['a', 'b', 'c']) {
      const db = s.db[ez]!;
      await db.query('CREATE TABLE p (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))');
      await db.query('CREATE TABLE ch (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), FOREIGN KEY (pid) REFERENCES p (id))');
    }
    daemons.push(...(await startDaemons(s, ['a', 'b', 'c'])));
    const c = s.db.c!;
    // Hold b's stream into c: every insert into c's p waits on this lock (an FK check of a child does not).
    await c.query('BEGIN');
    await c.query('SELECT * FROM p FOR UPDATE');
    await s.db.b!.query('INSERT INTO p (id) VALUES (7)');
    await eventually('the parent reached a', async () => ((await s!.db.a!.query<mysql.RowDataPacket[]>('SELECT 1 FROM p WHERE id = 7'))[0]).length === 1);
    await s.db.a!.query('INSERT INTO ch (id, pid) VALUES (1, 7)');
    const fromA = daemons.find((d) => d.ezone === 'c')!.appliers.get('a')!;
    await eventually('c retried the child while its parent was held back', async () => fromA.stats.retries > 0, 30_000);
    await c.query('COMMIT');
    for (const table of ['p', 'ch']) {
      await converge(s, table, ['a', 'b', 'c'], { rows: 1, timeoutMs: 90_000 });
      expect(await checksum(c, table)).toBe(await checksum(s.db.a!, table));
    }
    for (const ez of ['a', 'b', 'c']) expect(await conflictsIn(s, ez), ez).toEqual([]);
    healthy(daemons);
  });

  it('a load with FOREIGN_KEY_CHECKS=0 (children before parents, a circular pair) applies with checks off, and checks stay on for what follows', async () => {
    s = await scenario('fk-checks-off', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query('CREATE TABLE p (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))');
      await db.query('CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), FOREIGN KEY (pid) REFERENCES p (id))');
      await db.query('CREATE TABLE x (id INT PRIMARY KEY, yid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))');
      await db.query('CREATE TABLE y (id INT PRIMARY KEY, xid INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), FOREIGN KEY (xid) REFERENCES x (id))');
      await db.query('ALTER TABLE x ADD FOREIGN KEY (yid) REFERENCES y (id)');
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const a = s.db.a!;
    // As a mysqldump restore does: checks off for the session, tables in name order (children first).
    await a.query('SET SESSION foreign_key_checks = 0');
    await a.query('INSERT INTO c (id, pid) SELECT seq, seq FROM seq_1_to_20');
    await a.query('BEGIN');
    await a.query('INSERT INTO x (id, yid) VALUES (1, 1), (2, 2)');
    await a.query('INSERT INTO y (id, xid) VALUES (1, 1), (2, 2)');
    await a.query('COMMIT');
    await a.query('INSERT INTO p (id) SELECT seq FROM seq_1_to_20');
    await a.query('SET SESSION foreign_key_checks = 1');
    // Checks back on, in the same ezone: ordinary writes after the load.
    await a.query('INSERT INTO c (id, pid) VALUES (21, 20)');
    await convergeAll(s, { p: 20, c: 21, x: 2, y: 2 });
    expect(await conflictsIn(s, 'b')).toEqual([]);
    healthy(daemons, true);

    // The applier's session has its checks back on: an orphan written with checks off arrives as such,
    // but a child of a parent deleted concurrently is still refused (a conflict, not an orphan).
    await stopDaemons(daemons);
    await a.query('DELETE FROM c WHERE pid = 20');
    await a.query('DELETE FROM p WHERE id = 20');
    await s.db.b!.query('INSERT INTO c (id, pid) VALUES (22, 20)');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await convergeAll(s, { p: 19, c: 19 });
    await eventually('conflicts recorded', async () => (await decisions(s!, 'a')).length >= 1 && (await decisions(s!, 'b')).length >= 1);
    expect(await decisions(s, 'a')).toEqual(['c fk-parent-missing skipped']);
    expect(await decisions(s, 'b')).toEqual(['p fk-children-removed applied']);
    healthy(daemons);
  });
});
