/**
 * Issue 13: a waiting child (fk_waiting) whose parent comes back, swept while local capture has not
 * yet recorded a newer local delete of that parent. Parent 7 in both ezones. Daemons stopped: b
 * deletes 7 (t0); a writes a CASCADE child 70 under 7 (t1 > t0). Running, each ezone sets 70 aside
 * (newer than 7's delete: it waits for 7 to come back). Daemons stopped again: b writes 7 (t2),
 * deletes it (t3 > t1) and writes it again (t4). 70 is older than t3, which removed it wherever it
 * stood: a places 70 when t2 arrives and t3's cascade removes it; in b the sweep must find t3's
 * tombstone and drop 70, never place it under the 7 of t4.
 *
 * b's capture lag is made deterministic as in fk-capture-lag.test.ts: a session of the test holds
 * locks on every row and gap of b's drc_meta.tombstones while the daemons start, so capture cannot
 * record t3's tombstone until the test lets go. A sweep reading 7's tombstones without waiting for
 * coverage (fk-conflict.ts deletedSince) places 70 in b meanwhile, for good; one that waits decides
 * after the tombstone is recorded.
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

describeWithServers('foreign keys: a waiting child swept while capture lags behind a local delete of its parent (issue 13)', () => {
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

  it('the waiting child older than the local delete is dropped in b, as t3 removed it in a', async () => {
    s = await scenario('fk-waiting-lag', {}, { ezones: ['a', 'b'] });
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
    await b!.query('INSERT INTO p (id) VALUES (7)'); // t2
    await sleep(1_100);
    await b!.query('DELETE FROM p WHERE id = 7'); // t3: 70 (t1) is older
    await sleep(1_100);
    await b!.query('INSERT INTO p (id) VALUES (7)'); // t4

    lock = await connectEzone('b');
    await lock.query('BEGIN');
    await lock.query('SELECT * FROM drc_meta.tombstones FOR UPDATE');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await sleep(HOLD_MS);
    const [placed] = await b!.query<mysql.RowDataPacket[]>('SELECT id FROM c');
    await lock.query('ROLLBACK');

    const rows = JSON.parse(await converge(s, 'c', ['a', 'b'], { rows: 0, timeoutMs: 60_000 })) as unknown[];
    expect(rows).toEqual([]);
    expect(placed.map((r) => Number(r.id)), 'b placed 70 under 7 before its delete t3 was recorded').toEqual([]);
    await converge(s, 'p', ['a', 'b'], { rows: 1 });
    expect(await waiting(b!), '70 no longer waits in b').toBe(0);
  });
});
