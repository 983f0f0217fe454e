/**
 * Issue 13, traced in the randomized convergence test (seed 20261201, 2 ezones: child 29 kept in a
 * only): a parent delete that loses to a newer row at its key (delete-diverged) removes the children
 * older than it, as its cascade did in its origin — but not when the row there moved in by a key
 * change newer than the delete: its children came with it and were never under the deleted row.
 *
 * Daemons stopped: b deletes 8 (t0); a deletes 8 (t1); b moves 22 to 8 (t2), its child 29 (older
 * than all of them) following by ON UPDATE CASCADE. In a, b's move arrives after a's delete and
 * applies, 29 following; in b, a's delete meets the moved-in row, newer, and must leave 29 alone.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';

describeWithServers('foreign keys: a lost parent delete and the children of a row moved in after it (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('the children that came with the moved-in row stay in both ezones', async () => {
    s = await scenario('fk-delete-moved-in', {}, { ezones: ['a', 'b'] });
    const { a, b } = s.db as Record<string, mysql.Connection>;
    for (const db of [a!, b!]) {
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await a!.query("INSERT INTO p (id, name, updated_at) VALUES (8, 'eight', '2020-01-01'), (22, 'twenty-two', '2020-01-01')");
    await a!.query("INSERT INTO c (id, pid, updated_at) VALUES (29, 22, '2020-01-01')");
    await converge(s, 'p', ['a', 'b'], { rows: 2 });
    await converge(s, 'c', ['a', 'b'], { rows: 1 });
    await stopDaemons(daemons.splice(0));

    // A second apart: a delete captured later is placed within its binlog second (capture/row-changes.ts deleteTime).
    await b!.query('DELETE FROM p WHERE id = 8');
    await new Promise((r) => setTimeout(r, 1100));
    await a!.query('DELETE FROM p WHERE id = 8');
    await new Promise((r) => setTimeout(r, 1100));
    await b!.query('UPDATE p SET id = 8 WHERE id = 22');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));

    const p = JSON.parse(await converge(s, 'p', ['a', 'b'], { rows: 1 })) as { id: number }[];
    expect(p.map((r) => r.id)).toEqual([8]);
    const c = JSON.parse(await converge(s, 'c', ['a', 'b'], { rows: 1, timeoutMs: 30_000 })) as { id: number; pid: number }[];
    expect(c.map((r) => `${r.id}:${r.pid}`)).toEqual(['29:8']);
    for (const d of daemons) for (const [origin, applier] of d.appliers) expect(applier.stats.paused, `${origin} → ${d.ezone}`).toBeUndefined();
  }, 120_000);
});
