/**
 * A daemon killed before its capture's first Kafka commit loses nothing (the three-ezone random
 * convergence run that found it lost ~40 rows: the killed daemon had committed nothing yet, and the
 * restarted one began at the binlog end). Capture records where it first started (db/capture-start.ts)
 * and starts there again while the topic holds no commit; once it does, the record goes.
 *
 * Ezone a reaches Kafka through a proxy that delays every packet by 0.6 s, so that its first commit
 * takes far longer than writing the rows and killing it; the test checks that nothing was committed
 * when it died, so a run where the commit won the race fails instead of passing vacuously.
 *
 * The start is recorded with the routing in force there (issue 17): the binlog read again from it is
 * judged by that routing and the routing rows it meets, not by the routing in force at the restart.
 */
import { writeFileSync } from 'node:fs';
import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { changesTopic } from '../../src/model/topics.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers, infra } from '../support/env.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { conflictsIn, converge } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';
import { routingVersion, shardedOrders, userOfA } from '../support/sharded-orders.js';
import { sleep, waitFor } from '../support/wait.js';

describeWithServers('capture killed before its first Kafka commit (drc run processes)', () => {
  let s: Scenario | undefined;
  let proxy: FaultProxy | undefined;
  const daemons: DaemonProcess[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) if (d.child.exitCode === null) await d.kill();
    await proxy?.stop();
    proxy = undefined;
    await s?.close();
    s = undefined;
  });
  const start = async (ezone: string, configFile: string, waitMs = 30_000) => {
    const d = await DaemonProcess.start(['run', '--config', configFile, '--ezone', ezone]);
    daemons.push(d);
    await d.waitActive(waitMs);
    return d;
  };
  /** Messages committed on `topic` (the offset read-committed consumers see as the end). */
  const committedOffset = async (topic: string) => {
    const admin = s!.kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.offset), 0);
    } finally {
      await admin.disconnect();
    }
  };

  /**
   * b's daemon, then a's reaching Kafka through the proxy at 0.6 s a packet, started on an empty
   * topic: what the test writes next in a is read and not committed. Returns a's config file.
   */
  const startSlow = async () => {
    const fault = infra().kafka.fault!;
    proxy = new FaultProxy(fault.listenerPort, fault.proxyPort);
    await proxy.start();
    proxy.latencyMs = 600;
    const aConfig = s!.configFile.replace(/\.yaml$/, '.a.yaml');
    writeFileSync(aConfig, stringify({ ...s!.config, kafka: { ...s!.config.kafka, brokers: [`127.0.0.1:${fault.proxyPort}`] } }));
    await start('b', s!.configFile);
    const first = await DaemonProcess.start(['run', '--config', aConfig, '--ezone', 'a']);
    daemons.push(first);
    await first.waitForLog('no resume point on Kafka', 120_000);
    return { aConfig, first };
  };
  /** SIGKILL a's first daemon (checking it committed nothing: otherwise the run proves nothing), start it again at full speed. */
  const crashAndRestart = async (first: DaemonProcess, aConfig: string) => {
    await first.kill('SIGKILL');
    expect(await committedOffset(changesTopic(s!.prefix, 'a')), 'messages committed on a.changes when a died').toBe(0);
    proxy!.latencyMs = 0;
    proxy!.cut();
    return start('a', aConfig, 120_000);
  };

  it.runIf(infra().mode === 'local' && infra().kafka.fault !== undefined)('starts again where it first started: every row written before the crash arrives', async () => {
    s = await scenario('firstcommit');
    for (const ez of ['a', 'b']) await s.db[ez]!.query('CREATE TABLE w (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    const topic = changesTopic(s.prefix, 'a');
    const { aConfig, first } = await startSlow();

    const ROWS = 40;
    for (let i = 1; i <= ROWS; i++) await s.db.a!.query('INSERT INTO w (id, v) VALUES (?, ?)', [i, `a-${i}`]);
    const second = await crashAndRestart(first, aConfig);
    await converge(s, 'w', ['a', 'b'], { rows: ROWS, timeoutMs: 60_000 });
    expect(second.log).toContain('nothing committed on Kafka yet: capture starts again where it first started');
    const [[n]] = await s.db.b!.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM w');
    expect(Number(n!.n)).toBe(ROWS);
    // The topic holds a commit now: the recorded start is gone, a later start resumes from Kafka.
    await waitFor(
      async () => {
        const [rows] = await s!.db.a!.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM drc_meta.capture_start WHERE topic = ?', [topic]);
        return Number(rows[0]!.n);
      },
      { what: 'the recorded capture start forgotten after the first commit', until: (n) => n === 0, timeoutMs: 30_000 },
    );
    await second.kill('SIGTERM');
    const third = await start('a', aConfig);
    expect(third.log).toContain('capture resumes after the last transaction on Kafka');
  }, 300_000);

  it.runIf(infra().mode === 'local' && infra().kafka.fault !== undefined)('judges the rows it reads again by the routing in force at its first start, not at the restart', async () => {
    s = await shardedOrders(await scenario('firstcommit_routing'), ['a', 'b']);
    const user = userOfA;
    const { aConfig, first } = await startSlow();

    // Before a's first commit: a writes a row of its own shard, then the shard moves to b (version 2).
    await s.db.a!.query('INSERT INTO orders (id, user_id) VALUES (1, ?)', [user]);
    await s.db.a!.query('UPDATE drc_meta.routing SET prev_owner = owner, owner = ?, version = 2 WHERE topology = ? AND shard BETWEEN 0 AND 7', ['b', s.prefix]);
    await sleep(500); // read by a's capture meanwhile: time passes on purpose
    const second = await crashAndRestart(first, aConfig);
    await converge(s, 'orders', ['a', 'b'], { rows: 1, timeoutMs: 60_000 });
    expect(second.log).toContain('nothing committed on Kafka yet: capture starts again where it first started');
    await eventually('b applying the routing change', async () => (await routingVersion(s!.db.b!, s!.prefix)) === 2);
    // The row was a's to write when it was written: no violation recorded in b (the routing read at the restart says b's).
    expect((await conflictsIn(s, 'b')).filter((c) => c.reason === 'ownership')).toEqual([]);
    // A row a writes now is one: the routing row met in binlog order counts.
    await s.db.a!.query('INSERT INTO orders (id, user_id) VALUES (2, ?)', [user]);
    await eventually('the violation recorded in b', async () => (await conflictsIn(s!, 'b')).some((c) => c.reason === 'ownership' && c.origin === 'a'));
  }, 300_000);
});
