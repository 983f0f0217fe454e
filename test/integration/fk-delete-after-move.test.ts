/**
 * Issue 13, traced in the randomized FK test (3 ezones, seed 20261201): a parent's delete concurrent
 * with an older key change of the same row. Parent 24 with CASCADE child 41 in both ezones. Daemons
 * stopped: b moves 24 to 2 (t1: its cascade takes 41 along) and then writes child 42 under 2 (t1 <
 * t42); a, not having seen the move, deletes 24 later by the clocks (t2 > t1: its cascade removes 41).
 * In a the move arrives after the delete, finds the old key's newer tombstone and inserts 2 alone; in
 * b the delete finds 24 gone (delete-missing) — without a rule 41 stayed under 2 in b only. Children
 * follow the newest write of the row they were under: the children the move took along (older than
 * it) go with the newer delete (fk-adopt.ts abandonMovedChildren); 42, written under 2 after the move,
 * stays everywhere.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';
import { sleep } from '../support/wait.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';

describeWithServers('foreign keys: a parent delete concurrent with an older key change of the same row (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('the children the move took along go with the newer delete in both ezones; a child written after the move stays', async () => {
    s = await scenario('fk-delete-move', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const { a, b } = s.db as Record<string, mysql.Connection>;
    await a!.query("INSERT INTO p (id, updated_at) VALUES (24, '2020-01-01')");
    await a!.query("INSERT INTO c (id, pid, updated_at) VALUES (41, 24, '2020-01-01')");
    await converge(s, 'p', ['a', 'b'], { rows: 1 });
    await converge(s, 'c', ['a', 'b'], { rows: 1 });
    await stopDaemons(daemons);

    // Versions are times of day, each write a second apart (a delete's version is to the second).
    await b!.query('UPDATE p SET id = 2 WHERE id = 24'); // t1: b's cascade moves 41 to 2
    await sleep(1_100);
    await b!.query('INSERT INTO c (id, pid) VALUES (42, 2)'); // after the move, under 2
    await sleep(1_100);
    await a!.query('DELETE FROM p WHERE id = 24'); // t2 > t1: a's cascade removes 41
    daemons.push(...(await startDaemons(s, ['a', 'b'])));

    await converge(s, 'p', ['a', 'b'], { rows: 1 });
    const rows = JSON.parse(await converge(s, 'c', ['a', 'b'], { rows: 1, timeoutMs: 60_000 })) as { id: number; pid: number }[];
    expect(rows.map((r) => [Number(r.id), Number(r.pid)])).toEqual([[42, 2]]);
    const removed = (await conflictsIn(s, 'b')).filter((c) => c.reason === 'fk-children-removed');
    expect(removed.map((c) => c.decision)).toEqual(['applied']);
  });

  it('the delete loses to a newer row b wrote at the freed key: the children the move took along still go', async () => {
    s = await scenario('fk-delete-move2', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const { a, b } = s.db as Record<string, mysql.Connection>;
    await a!.query("INSERT INTO p (id, updated_at) VALUES (24, '2020-01-01')");
    await a!.query("INSERT INTO c (id, pid, updated_at) VALUES (41, 24, '2020-01-01')");
    await converge(s, 'c', ['a', 'b'], { rows: 1 });
    await stopDaemons(daemons);

    await b!.query('UPDATE p SET id = 2 WHERE id = 24'); // t1
    await sleep(1_100);
    await a!.query('DELETE FROM p WHERE id = 24'); // t2 > t1, concurrent with the move
    await sleep(1_100);
    await b!.query('INSERT INTO p (id) VALUES (24)'); // t3 > t2: in b the delete meets this newer row (delete-diverged)
    daemons.push(...(await startDaemons(s, ['a', 'b'])));

    await converge(s, 'p', ['a', 'b'], { rows: 2 });
    const rows = JSON.parse(await converge(s, 'c', ['a', 'b'], { rows: 0, timeoutMs: 60_000 })) as unknown[];
    expect(rows).toEqual([]);
  });
});
