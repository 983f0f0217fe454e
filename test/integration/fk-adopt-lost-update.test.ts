/**
 * Issue 13, traced in the randomized FK test (3 ezones, seed 20261201): children moved away by a key
 * change, and a newer concurrent update of the old key that loses, in one ezone, to a still newer row
 * at that key. Parent 15 with CASCADE child 26 everywhere. Daemons stopped: a moves 15 to 13 (t1: its
 * cascade takes 26 along); c, not having seen it, updates 15 in place (t2 > t1). a and b run (c's
 * daemon stopped): b gets the move, and then writes a new row 15 (t3 > t2). In a, c's update re-creates
 * 15 and adopts 26 (children follow the newest write of the row), then b's row replaces it and 26
 * stays; in c the move loses to its own newer 15 and 26 never moved. In b, c's update loses to b's row
 * at 15 (update-diverged) — without a rule 26 stayed at 13 there only. With it the children the move
 * took along follow the lost update to its key, where the newer row stands: 26 ends under 15 everywhere.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
const EZONES = ['a', 'b', 'c'];

describeWithServers('foreign keys: children a key change took along follow a newer concurrent update that lost to a newer row (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('three ezones: the child ends under 15 everywhere', async () => {
    s = await scenario('fk-adopt-lost', {}, { ezones: EZONES });
    for (const ez of EZONES) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)`);
    }
    daemons.push(...(await startDaemons(s, EZONES)));
    const { a, b, c } = s.db as Record<string, mysql.Connection>;
    await a!.query("INSERT INTO p (id, updated_at) VALUES (15, '2020-01-01')");
    await a!.query("INSERT INTO c (id, pid, updated_at) VALUES (26, 15, '2020-01-01')");
    await converge(s, 'p', EZONES, { rows: 1 });
    await converge(s, 'c', EZONES, { rows: 1 });
    await stopDaemons(daemons);

    // Versions are times of day, each write a second apart.
    await a!.query('UPDATE p SET id = 13 WHERE id = 15'); // t1
    await sleep(1_100);
    await c!.query('UPDATE p SET v = 1 WHERE id = 15'); // t2: c has not seen the move
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await waitFor(async () => ((await b!.query<mysql.RowDataPacket[]>('SELECT pid FROM c WHERE id = 26'))[0][0] as mysql.RowDataPacket | undefined)?.pid, { what: 'the move in b', until: (pid) => Number(pid) === 13, timeoutMs: 30_000 });
    await sleep(1_100);
    await b!.query('INSERT INTO p (id, v) VALUES (15, 2)'); // t3: a new row at the freed key
    daemons.push(...(await startDaemons(s, ['c'])));

    await converge(s, 'p', EZONES, { rows: 2 });
    const rows = JSON.parse(await converge(s, 'c', EZONES, { rows: 1, timeoutMs: 60_000 })) as { id: number; pid: number }[];
    expect(rows.map((r) => [Number(r.id), Number(r.pid)])).toEqual([[26, 15]]);
  });
});
