/**
 * Issue 13, traced in the randomized convergence test (seed 20261201, 2 ezones, b's daemon SIGKILLed
 * mid-way: child 46 back in b alone). A child waiting in b (fk_waiting) that b itself wrote and
 * deleted since, while its capture was behind (the daemon restarting): the sweep read the child's key,
 * found no row and no tombstone yet (capture had not recorded b's delete), and placed the waiting
 * image for good — a deleted row back in one ezone. The sweep now reads the key's tombstones only once
 * local capture has passed the binlog position read with the row (coverage.ts), as every other
 * decision on local tombstones does.
 *
 * Set-up as in fk-waiting-capture-lag.test.ts: parent 7 in both ezones; daemons stopped, b deletes 7
 * (t0) and a writes a CASCADE child 70 under it (t1 > t0): running, 70 waits in b. Daemons stopped
 * again, b writes 7 back (t2), then child 70 (t3) and deletes it (t4 > t1). b's capture is held
 * behind by a test session locking drc_meta.tombstones while the daemons start; a's write of p 9
 * makes b's applier run a transaction, and so a sweep.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
/** How long b's capture is held behind (the applier's coverage wait is 30 s). */
const HOLD_MS = 8_000;

describeWithServers('foreign keys: a waiting child its own ezone wrote and deleted since, swept while capture lags (issue 13)', () => {
  let s: Scenario | undefined;
  let lock: mysql.Connection | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await lock?.end();
    lock = undefined;
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('the waiting child is not placed in b: deleted there after it was set aside, gone in both ezones', async () => {
    s = await scenario('fk-waiting-own-delete', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const { a, b } = s.db as Record<string, mysql.Connection>;
    await a!.query("INSERT INTO p (id, updated_at) VALUES (7, '2020-01-01')");
    await converge(s, 'p', ['a', 'b'], { rows: 1 });
    await stopDaemons(daemons);

    // Versions are times of day, each write a second apart (a delete's version is to the second).
    await b!.query('DELETE FROM p WHERE id = 7'); // t0
    await sleep(1_100);
    await a!.query('INSERT INTO c (id, pid) VALUES (70, 7)'); // t1
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await converge(s, 'p', ['a', 'b'], { rows: 0 });
    await converge(s, 'c', ['a', 'b'], { rows: 0 });
    const waiting = async (conn: mysql.Connection) => Number(((await conn.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM drc_meta.fk_waiting WHERE schema_name = ? AND table_name = 'c'", [s!.schema]))[0][0] as mysql.RowDataPacket).n);
    await waitFor(() => waiting(b!), { what: '70 waiting in b', until: (n) => n === 1, timeoutMs: 30_000 });
    await stopDaemons(daemons);

    await sleep(1_100);
    await b!.query('INSERT INTO p (id) VALUES (7)'); // t2: the parent is back
    await sleep(1_100);
    await b!.query('INSERT INTO c (id, pid) VALUES (70, 7)'); // t3
    await sleep(1_100);
    await b!.query('DELETE FROM c WHERE id = 70'); // t4: newer than the waiting image (t1)

    lock = await connectEzone('b');
    await lock.query('BEGIN');
    await lock.query('SELECT * FROM drc_meta.tombstones FOR UPDATE');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await a!.query('INSERT INTO p (id) VALUES (9)'); // a transaction for b's applier: a sweep
    await sleep(HOLD_MS);
    const [placed] = await b!.query<mysql.RowDataPacket[]>('SELECT id FROM c');
    await lock.query('ROLLBACK');

    expect(placed.map((r) => Number(r.id)), 'b placed 70 before its own delete t4 was recorded').toEqual([]);
    await converge(s, 'p', ['a', 'b'], { rows: 2, timeoutMs: 60_000 });
    const rows = JSON.parse(await converge(s, 'c', ['a', 'b'], { rows: 0, timeoutMs: 60_000 })) as unknown[];
    expect(rows).toEqual([]);
    await waitFor(() => waiting(b!), { what: '70 no longer waiting in b', until: (n) => n === 0, timeoutMs: 30_000 });
  });
});
