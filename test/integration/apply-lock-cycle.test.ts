/**
 * The lock cycle InnoDB cannot see (bench mixed phase: DRC_LOCK_WAIT_TIMEOUT): a local transaction
 * in b holds row 1 and then wants row 2; b's applier runs two groups from a in parallel — G1 (row 1)
 * waits for the local transaction, G2 (row 2) holds row 2 and waits for G1's commit turn. The local
 * transaction's second statement waits for G2. Nothing moves until a lock wait times out.
 *
 * Across streams (three ezones): in c, a's stream runs A1 (rows 1, then 3) and A2 (row 4, parked
 * behind A1), b's stream B1 (rows 2, then 4) and B2 (row 3, parked behind B1). A local transaction
 * holding rows 1 and 2 lets A2 and B2 take their rows first; once it commits, A1 waits for B2's row and
 * B1 for A2's: each stream's oldest group waits on the other stream's parked one, a cycle InnoDB sees
 * as two plain lock waits.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { waitFor } from '../support/wait.js';
import { YIELD_AFTER_MS } from '../../src/apply/lock-yield.js';

const T = 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))';

describeWithServers('apply: a local transaction between two parallel groups', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('a local transaction waiting on a later group does not stall the stream', async () => {
    s = await scenario('lockcycle', { apply: { groupMaxTransactions: 1, workers: 4 } });
    for (const ez of ['a', 'b']) await s.db[ez]!.query(T);
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query("INSERT INTO t (id, v) VALUES (1, 'seed'), (2, 'seed')");
    await converge(s, 't', ['a', 'b'], { rows: 2 });

    const local = await connectEzone('b', s.schema);
    try {
      await local.query('SET SESSION innodb_lock_wait_timeout = 50');
      await local.query('BEGIN');
      await local.query("UPDATE t SET v = 'local' WHERE id = 1");
      // Two source transactions from a: row 1 (waits for the local transaction), then row 2.
      await s.db.a!.query("UPDATE t SET v = 'a1' WHERE id = 1");
      await s.db.a!.query("UPDATE t SET v = 'a2' WHERE id = 2");
      // Until b's applier waits on row 1 and a second apply transaction is open (row 2 locked).
      const admin = s.db.b!;
      await waitFor(async () => {
        const [rows] = await admin.query<RowDataPacket[]>("SELECT trx_state FROM information_schema.innodb_trx WHERE trx_mysql_thread_id <> CONNECTION_ID()");
        return rows.some((r) => r.trx_state === 'LOCK WAIT') && rows.length >= 3;
      }, { timeoutMs: 20_000, what: 'the applier waiting on row 1 while another group holds row 2' });
      const started = Date.now();
      await local.query("UPDATE t SET v = 'local' WHERE id = 2");
      const waitedMs = Date.now() - started;
      await local.query('COMMIT');
      expect(waitedMs).toBeLessThan(2000); // without the yield: the apply session's 3 s lock wait, then a stream restart
    } finally {
      await local.end();
    }
    await converge(s, 't', ['a', 'b'], { rows: 2 });
  });

  it('a cross-stream cycle in c (a → c and b → c, each oldest group waiting on the other stream\'s parked group) resolves by yields, without a lock wait timeout or retry', async () => {
    const ezones = ['a', 'b', 'c'];
    // No heartbeats meanwhile: a heartbeat group parked behind an oldest one would count as one of the two parked groups awaited below.
    s = await scenario('lockcycle3', { apply: { groupMaxTransactions: 1, workers: 4 }, heartbeat: { interval: '1h' } }, { ezones });
    for (const ez of ezones) await s.db[ez]!.query(T);
    daemons.push(...(await startDaemons(s, ezones)));
    await s.db.a!.query("INSERT INTO t (id, v) VALUES (1, 'seed'), (2, 'seed'), (3, 'seed'), (4, 'seed')");
    await converge(s, 't', ezones, { rows: 4 });
    const c = daemons.find((d) => d.ezone === 'c')!;
    const streams = ['a', 'b'].map((o) => c.appliers.get(o)!);
    const retries = streams.map((x) => x.stats.retries);

    const local = await connectEzone('c', s.schema);
    let yieldsBefore = 0;
    try {
      await local.query('BEGIN');
      await local.query("UPDATE t SET v = 'local' WHERE id IN (1, 2)");
      const tx = async (ez: string, ids: number[]) => {
        await s!.db[ez]!.query('BEGIN');
        for (const id of ids) await s!.db[ez]!.query('UPDATE t SET v = ? WHERE id = ?', [`${ez}${id}`, id]);
        await s!.db[ez]!.query('COMMIT');
      };
      await Promise.all([(async () => { await tx('a', [1, 3]); await tx('a', [4]); })(), (async () => { await tx('b', [2, 4]); await tx('b', [3]); })()]);
      // A1 and B1 wait for the local transaction; A2 and B2 hold rows 4 and 3, parked (before any yield: within 750 ms).
      await waitFor(() => streams[0]!.parkedGroups === 2, { timeoutMs: 20_000, intervalMs: 5, what: "both streams' second groups parked while their oldest wait for the local transaction" });
      yieldsBefore = streams.reduce((n, x) => n + x.stats.lockYields, 0);
      await local.query('COMMIT'); // now A1 wants row 3 (B2's) and B1 row 4 (A2's)
    } finally {
      await local.end();
    }
    const released = Date.now();
    await converge(s, 't', ezones, { rows: 4, timeoutMs: 30_000 });
    const tookMs = Date.now() - released;
    // Without a yield: the apply sessions' 3 s lock wait, a failed group and a stream restart.
    expect(tookMs).toBeLessThan(2500);
    expect(streams.map((x) => x.stats.retries)).toEqual(retries);
    // The parked groups gave their locks back after the commit (the cycle had formed), not before it.
    expect(yieldsBefore, `yields before the cycle formed (the machine took over ${YIELD_AFTER_MS} ms to see the waits)`).toBe(0);
    expect(streams.reduce((n, x) => n + x.stats.lockYields, 0)).toBeGreaterThan(0);
  });
});
