/**
 * The lock cycle InnoDB cannot see (bench mixed phase: DRC_LOCK_WAIT_TIMEOUT): a local transaction
 * in b holds row 1 and then wants row 2; b's applier runs two groups from a in parallel — G1 (row 1)
 * waits for the local transaction, G2 (row 2) holds row 2 and waits for G1's commit turn. The local
 * transaction's second statement waits for G2. Nothing moves until a lock wait times out.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { waitFor } from '../support/wait.js';

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
});
