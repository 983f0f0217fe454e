/**
 * Capture restarting across a routing change (issue 17): the binlog it reads again from its resume
 * point is judged by the routing in force when each row was written — the routing shipped with the
 * resume point, then the routing rows it meets in binlog order — not by the routing in force now.
 * Both Kafka clients (the resume point's routing travels in a Kafka header).
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers, infra } from '../support/env.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';
import { routingVersion, shardedOrders, userOfA as user } from '../support/sharded-orders.js';
import { testLogger } from '../support/test-logger.js';
import { sleep } from '../support/wait.js';

async function setUp(name: string, kafkaClient: 'platformatic' | 'kafkajs'): Promise<Scenario> {
  return shardedOrders(await scenario(name, {}, { ezones: ['a', 'b'], kafkaClient }), ['a', 'b']);
}

describeWithServers('capture restarting across a routing change', () => {
  let s: Scenario | undefined;
  let proxy: FaultProxy | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await proxy?.stop();
    proxy = undefined;
    await s?.close();
    s = undefined;
  });

  for (const client of ['platformatic', 'kafkajs'] as const) {
    it(`judges rows read again after a restart by the routing in force when they were written (${client})`, async () => {
      s = await setUp(`reroute_${client}`, client);
      daemons.push(...(await startDaemons(s, ['a', 'b'])));
      await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (1, ?, 10)', [user]);
      await converge(s, 'orders', ['a', 'b'], { rows: 1 });
      await stopDaemons(daemons);

      // While a's daemon is down: a writes a row of its own shard (version 1), then the shard moves to
      // b (version 2) — after that row in a's binlog. Its capture resumes before both.
      await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (2, ?, 20)', [user]);
      await s.db.a!.query('UPDATE drc_meta.routing SET prev_owner = owner, owner = ?, version = 2 WHERE topology = ? AND shard BETWEEN 0 AND 7', ['b', s.prefix]);

      daemons.push(...(await startDaemons(s, ['a', 'b'])));
      await converge(s, 'orders', ['a', 'b'], { rows: 2 });
      await eventually('b applying the routing change', async () => (await routingVersion(s!.db.b!, s!.prefix)) === 2);
      // The row was a's to write when it was written: no wrong write, no violation in b.
      expect(daemons[0]!.capture.stats.wrongWrites).toBe(0);
      expect((await conflictsIn(s, 'b')).filter((c) => c.reason === 'ownership')).toEqual([]);

      // A row a writes now, after the change, is one (the routing rows met in binlog order count).
      await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (3, ?, 30)', [user]);
      await eventually('the violation recorded in b', async () => (await conflictsIn(s!, 'b')).some((c) => c.reason === 'ownership' && c.origin === 'a'));
      expect(daemons[0]!.capture.stats.wrongWrites).toBe(1);
    }, 120_000);
  }
  it.runIf(infra().mode === 'local' && infra().kafka.fault !== undefined)('a stream restart (Kafka cut off before the commit) judges the rows it reads again by the routing of its resume point', async () => {
    s = await setUp('reroute_stream', 'platformatic');
    // a reaches Kafka only through the proxy (the broker advertises the proxy's port to it).
    const fault = infra().kafka.fault!;
    proxy = new FaultProxy(fault.listenerPort, fault.proxyPort);
    await proxy.start();
    const aConfig = { ...s.config, kafka: { ...s.config.kafka, brokers: [`127.0.0.1:${fault.proxyPort}`] } };
    const log = testLogger();
    daemons.push(await startDaemon(aConfig, 'a', log.child({ ezone: 'a' })), ...(await startDaemons(s, ['b'])));
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (1, ?, 10)', [user]);
    await converge(s, 'orders', ['a', 'b'], { rows: 1 });
    const a = daemons[0]!;
    const restarts = a.capture.stats.restarts;

    // Kafka out of reach: a's capture reads the row (version 1) and the routing change after it (version 2), and cannot commit them.
    proxy.blackhole(true);
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (2, ?, 20)', [user]);
    await s.db.a!.query('UPDATE drc_meta.routing SET prev_owner = owner, owner = ?, version = 2 WHERE topology = ? AND shard BETWEEN 0 AND 7', ['b', s.prefix]);
    await sleep(1000); // read by capture meanwhile: time passes on purpose
    // Its binlog connection dies too: capture restarts from its last commit, before both.
    const [dumps] = await s.db.a!.query<mysql.RowDataPacket[]>("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
    for (const d of dumps) await s.db.a!.query(`KILL ${Number(d.ID)}`).catch(() => undefined);
    await sleep(500);
    proxy.blackhole(false);
    proxy.cut();
    await converge(s, 'orders', ['a', 'b'], { rows: 2, timeoutMs: 120_000 });
    await eventually('b applying the routing change', async () => (await routingVersion(s!.db.b!, s!.prefix)) === 2, 60_000);
    expect(a.capture.stats.restarts).toBeGreaterThan(restarts);
    expect(a.capture.stats.wrongWrites).toBe(0);
    expect((await conflictsIn(s, 'b')).filter((c) => c.reason === 'ownership')).toEqual([]);
  }, 180_000);
});
