/**
 * Issue 13, what the randomized FK test traced next: a child older than a local delete of its parent,
 * applied while local capture has not yet recorded that delete's tombstone. Parents 18 and 19 and a
 * CASCADE child 34 under 18 in both ezones. Then, daemons stopped: a moves 34 to 19 (t1); b deletes 19
 * (t2) and writes it again (t3). In a, b's delete cascades 34 away (t1 < t2) and t3 re-creates 19
 * without it; in b, 34's move must go the same way — older than 19's delete — although 19 is there
 * again and 34 is there (under 18), so the catch-up wait for a missing row never runs.
 *
 * b's capture lag is made deterministic: while the daemons start, a session of the test holds locks
 * on every row and gap of b's drc_meta.tombstones, so capture cannot record the delete's tombstone
 * (its coverage stays behind t2) until the test lets go. An applier reading 19's tombstones without
 * waiting for coverage places 34 under 19 in b meanwhile; one that waits decides after the tombstone
 * is recorded.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { sleep } from '../support/wait.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
/** How long b's capture is held behind (the applier's coverage wait is 30 s). */
const HOLD_MS = 8_000;

describeWithServers('foreign keys: a child older than a local parent delete, applied while capture lags (issue 13)', () => {
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

  it('the child goes in both ezones, the parent written again stays', async () => {
    s = await scenario('fk-capture-lag', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      const db = s.db[ez]!;
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const { a, b } = s.db as Record<string, mysql.Connection>;
    await a!.query("INSERT INTO p (id, updated_at) VALUES (18, '2020-01-01'), (19, '2020-01-01')");
    await a!.query("INSERT INTO c (id, pid, updated_at) VALUES (34, 18, '2020-01-01')");
    await converge(s, 'p', ['a', 'b'], { rows: 2 });
    await converge(s, 'c', ['a', 'b'], { rows: 1 });
    await stopDaemons(daemons);

    // Versions are times of day: a delete's is when it happened (to the second from the binlog), so
    // each write is a second apart — t1 < t2 < t3 wherever they are compared.
    await a!.query('UPDATE c SET pid = 19 WHERE id = 34');
    await sleep(1_100);
    await b!.query('DELETE FROM p WHERE id = 19');
    await sleep(1_100);
    await b!.query('INSERT INTO p (id) VALUES (19)');

    lock = await connectEzone('b');
    await lock.query('BEGIN');
    await lock.query('SELECT * FROM drc_meta.tombstones FOR UPDATE');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await sleep(HOLD_MS);
    const [placed] = await b!.query<mysql.RowDataPacket[]>('SELECT pid FROM c WHERE id = 34');
    await lock.query('ROLLBACK');

    const rows = JSON.parse(await converge(s, 'c', ['a', 'b'], { rows: 0, timeoutMs: 60_000 })) as unknown[];
    expect(rows).toEqual([]);
    expect(placed.map((r) => Number(r.pid)), 'b placed 34 under 19 before its delete was recorded').not.toEqual([19]);
    await converge(s, 'p', ['a', 'b'], { rows: 2 });
  });
});
