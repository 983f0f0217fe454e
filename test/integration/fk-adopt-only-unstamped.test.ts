/**
 * Review of issue 13's `adoptOnly` rule (fk-adopt.ts): a lost update newer than a concurrent move takes
 * the children that move took along to its key — only children provably older than the move. Here the
 * child table has no column stamped like the parent's version column: a moves 15 to 13 (26 follows),
 * c (not having seen it) updates 15 in place; b gets the move, writes child 27 under 13, then a new
 * row 15. In b c's update loses (update-diverged): without a bound it dragged 27, written at 13 after
 * the move, to 15. Nothing is moved on doubt: 27 stays at 13 in b.
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

describeWithServers('foreign keys: adoptOnly moves no child of a table without the stamped column', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('a child written at the destination after the move stays there', async () => {
    s = await scenario('fk-adopt-only-unstamped', {}, { ezones: EZONES });
    for (const ez of EZONES) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0, ${VERSION})`);
      await db.query('CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)');
    }
    daemons.push(...(await startDaemons(s, EZONES)));
    const { a, b, c } = s.db as Record<string, mysql.Connection>;
    await a!.query("INSERT INTO p (id, updated_at) VALUES (15, '2020-01-01')");
    await a!.query('INSERT INTO c (id, pid) VALUES (26, 15)');
    await converge(s, 'c', EZONES, { rows: 1 });
    await stopDaemons(daemons);

    await a!.query('UPDATE p SET id = 13 WHERE id = 15'); // t1
    await sleep(1_100);
    await c!.query('UPDATE p SET v = 1 WHERE id = 15'); // t2: c has not seen the move
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await waitFor(async () => ((await b!.query<mysql.RowDataPacket[]>('SELECT pid FROM c WHERE id = 26'))[0][0] as mysql.RowDataPacket | undefined)?.pid, { what: 'the move in b', until: (pid) => Number(pid) === 13, timeoutMs: 30_000 });
    await b!.query('INSERT INTO c (id, pid) VALUES (27, 13)'); // after the move
    await sleep(1_100);
    await b!.query('INSERT INTO p (id, v) VALUES (15, 2)'); // t3
    daemons.push(...(await startDaemons(s, ['c'])));
    await converge(s, 'p', EZONES, { rows: 2 });
    // c's update has reached b (update-diverged there) once its conflict is recorded.
    await waitFor(async () => ((await b!.query<mysql.RowDataPacket[]>("SELECT COUNT(*) n FROM drc_meta.conflicts WHERE table_name = 'p' AND origin = 'c'"))[0][0] as mysql.RowDataPacket).n, { what: "c's update in b", until: (n) => Number(n) > 0, timeoutMs: 30_000 });
    await sleep(3_000);
    const [rows] = await b!.query<mysql.RowDataPacket[]>('SELECT id, pid FROM c WHERE id = 27');
    expect(rows.map((r) => [Number(r.id), Number(r.pid)])).toEqual([[27, 13]]);
  });
});
