/**
 * Issue 13, traced in the randomized convergence test (seed 20261201, 3 ezones: item 7 kept in b only):
 * a delete that finds no row at its key, while a sweep of drc_meta.fk_waiting places that row — a
 * child that waited for its parent. The sweep's check did not see the delete's tombstone (not
 * committed yet), and the delete's read had seen no row: both committed, and the deleted child was
 * back in one ezone. A delete that finds no row now takes the waiting entry's lock first (the sweep
 * holds it until it commits), then deletes a row older than itself at the key.
 *
 * The sweep is played by hand in b, exactly as fk-waiting.ts placeWaiting does it (lock the entry,
 * insert the child, delete the entry, commit), around the arrival of a's delete.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { stashStatement } from '../../src/apply/fk-waiting.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { contents, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
const CHILD_AT = '2020-01-01 00:00:01';
const CHILD_VERSION = String(Date.UTC(2020, 0, 1, 0, 0, 1) * 1000);

describeWithServers('foreign keys: a delete of a child a sweep is placing from fk_waiting (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  let sweep: mysql.Connection | undefined;
  afterEach(async () => {
    await sweep?.query('ROLLBACK').catch(() => undefined);
    await sweep?.end().catch(() => undefined);
    sweep = undefined;
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('the delete waits for the sweep holding the entry, then removes the row it placed: the child is gone in both ezones', async () => {
    s = await scenario('fk-waiting-delete', {}, { ezones: ['a', 'b'] });
    const { a, b } = s.db as Record<string, mysql.Connection>;
    for (const db of [a!, b!]) {
      await db.query(`CREATE TABLE p (id INT PRIMARY KEY, ${VERSION})`);
      await db.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, ${VERSION}, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await a!.query("INSERT INTO p (id, updated_at) VALUES (1, '2020-01-01')");
    await converge(s, 'p', ['a', 'b'], { rows: 1 });
    // a holds child 10 (not shipped: b has it only as a waiting child); b's fk_waiting holds its image.
    await a!.query('SET SESSION sql_log_bin = 0');
    await a!.query('INSERT INTO c (id, pid, updated_at) VALUES (10, 1, ?)', [CHILD_AT]);
    await a!.query('SET SESSION sql_log_bin = 1');
    const image = { id: 10, pid: 1, updated_at: `${CHILD_AT}.000000` };
    const stash = stashStatement('b', { schema: s.schema, table: 'c', key: { id: 10 }, version: CHILD_VERSION, image, origin: 'a', txId: 'test' });
    await b!.query(stash.sql, stash.params);

    // The sweep in b: the entry locked, as placeWaiting's FOR UPDATE SKIP LOCKED does, before the delete arrives.
    sweep = await connectEzone('b', s.schema);
    await sweep.query('SET SESSION sql_log_bin = 0');
    await sweep.query('BEGIN');
    const [entries] = await sweep.query<mysql.RowDataPacket[]>('SELECT key_json FROM drc_meta.fk_waiting WHERE schema_name = ? AND table_name = ? FOR UPDATE SKIP LOCKED', [s.schema, 'c']);
    expect(entries).toHaveLength(1);
    await a!.query('DELETE FROM c WHERE id = 10');
    // b's applier reads no row 10 and waits for the entry (under the apply sessions' 3 s lock wait timeout; a stream that times out retries and waits again).
    await new Promise((r) => setTimeout(r, 1500));
    await sweep.query('INSERT INTO c (id, pid, updated_at) VALUES (10, 1, ?)', [CHILD_AT]);
    await sweep.query('DELETE FROM drc_meta.fk_waiting WHERE schema_name = ? AND table_name = ?', [s.schema, 'c']);
    await sweep.query('COMMIT');

    // Everything a wrote before this has been applied in b once p 2 is there.
    await a!.query("INSERT INTO p (id, updated_at) VALUES (2, '2020-01-01')");
    await converge(s, 'p', ['a', 'b'], { rows: 2 });
    expect(await contents(b!, 'c')).toBe('[]');
    expect(await contents(a!, 'c')).toBe('[]');
    for (const d of daemons) for (const [origin, applier] of d.appliers) expect(applier.stats.paused, `${origin} → ${d.ezone}`).toBeUndefined();
  }, 120_000);
});
