/**
 * What a SIGKILL must not change (issue 13, the crash half of the randomized convergence test): a
 * delete read again after a crash — it had not reached Kafka — keeps the version it had the first
 * time, which its ezone already decided with. Before: the second reading counted the delete at its
 * receipt time then (clamped to the end of its second), so the killed ezone had let a concurrent update
 * beat the delete while the peers, receiving the later version, let the delete win: apart for good.
 * And a delete read late (the daemon was down, catching up) counts no later than it happened: not at
 * the end of its second, above its origin's own re-insert of the key made after it.
 */
import { writeFileSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers, infra } from '../support/env.js';
import { FaultProxy } from '../support/fault-proxy.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

describeWithServers('crash recovery keeps what the killed ezone decided (issue 13)', () => {
  let s: Scenario | undefined;
  let proxy: FaultProxy | undefined;
  const daemons: DaemonProcess[] = [];
  const extra: mysql.Connection[] = [];
  const inProcess: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(inProcess);
    await Promise.all(extra.splice(0).map((c) => c.end().catch(() => undefined)));
    for (const d of daemons.splice(0)) if (d.child.exitCode === null && d.child.signalCode === null) await d.kill('SIGTERM');
    await proxy?.stop();
    proxy = undefined;
    await s?.close();
    s = undefined;
  });
  const start = async (ezone: string, configFile = s!.configFile) => {
    const d = await DaemonProcess.start(['run', '--config', configFile, '--ezone', ezone]);
    daemons.push(d);
    await d.waitActive();
    return d;
  };

  it.runIf(infra().mode === 'local' && infra().kafka.fault !== undefined)(
    'a delete captured, decided with, then killed before Kafka has it ships with the same version after the restart',
    async () => {
      s = await scenario('crash-del', {}, { ezones: ['a', 'b'] });
      // A unique key: a delete releases its value, and capture records that claim after the delete's
      // tombstone — the step this test holds up, so the tombstone is there and the delete not yet shipped.
      for (const ez of ['a', 'b']) {
        await s.db[ez]!.query(
          'CREATE TABLE cd (id INT PRIMARY KEY, u VARCHAR(4) NULL, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), UNIQUE KEY (u))',
        );
      }
      // Ezone a reaches Kafka only through the proxy, so its Kafka commit can be held while its database works.
      const fault = infra().kafka.fault!;
      proxy = new FaultProxy(fault.listenerPort, fault.proxyPort);
      await proxy.start();
      const aConfig = s.configFile.replace(/\.yaml$/, '.a.yaml');
      writeFileSync(aConfig, stringify({ ...s.config, kafka: { ...s.config.kafka, brokers: [`127.0.0.1:${fault.proxyPort}`] } }));
      const a = await start('a', aConfig);
      await start('b');
      await s.db.a!.query("INSERT INTO cd (id, u, v) VALUES (1, 'x', 'base'), (2, NULL, 'stays')");
      await converge(s, 'cd', ['a', 'b'], { rows: 2 });

      // Hold capture's record of released claims in a (after the tombstone, before coverage moves).
      const lock = await connectEzone('a');
      extra.push(lock);
      await lock.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await lock.query('BEGIN');
      await lock.query('SELECT COUNT(*) FROM drc_meta.local_claims FOR UPDATE');

      while (Date.now() % 1000 > 40) await sleep(5); // both writes in one second
      const second = Math.floor(Date.now() / 1000) * 1000;
      await s.db.a!.query('DELETE FROM cd WHERE id = 1');
      const tombstone = () => s!.db.a!.query<mysql.RowDataPacket[]>("SELECT version FROM drc_meta.tombstones WHERE schema_name = ? AND table_name = 'cd'", [s!.schema]).then(([r]) => r);
      const [first] = await waitFor(tombstone, { what: "a's tombstone of its delete", until: (r) => r.length === 1, timeoutMs: 5000, intervalMs: 20 });
      const firstVersion = String(first!.version);
      const wait = second + 400 - Date.now();
      if (wait > 0) await sleep(wait);
      await s.db.b!.query("UPDATE cd SET v = 'b' WHERE id = 1"); // 400 ms after a's delete, b (not knowing it) updates the row
      expect(Date.now() - second, 'both writes in one second (else the test proves nothing)').toBeLessThan(900);
      await sleep(2000); // b's update reaches a's applier, which waits for a's capture to cover the delete

      // Kafka away from a, then let capture go on: a's applier decides b's update against the
      // tombstone (b's update is newer: applied), while a's Kafka commit of the delete hangs.
      proxy.blackhole(true);
      await lock.query('COMMIT');
      await waitFor(() => s!.db.a!.query<mysql.RowDataPacket[]>('SELECT v FROM cd WHERE id = 1').then(([r]) => r), {
        what: "b's update applied in a over a's own delete",
        until: (r) => r[0]?.v === 'b',
        timeoutMs: 20_000,
      });
      await a.kill('SIGKILL');
      proxy.blackhole(false);
      proxy.cut();
      await start('a', aConfig); // reads its delete again and ships it now

      // The delete reaches b (b always records an incoming delete's tombstone, whether it wins or not).
      await waitFor(() => s!.db.b!.query<mysql.RowDataPacket[]>("SELECT version FROM drc_meta.applied_tombstones WHERE schema_name = ? AND table_name = 'cd' AND origin = 'a'", [s!.schema]).then(([r]) => r), {
        what: "a's delete, read again, applied in b",
        until: (r) => r.length === 1,
        timeoutMs: 30_000,
      });
      const [[shipped]] = await s.db.b!.query<mysql.RowDataPacket[]>("SELECT version FROM drc_meta.applied_tombstones WHERE schema_name = ? AND table_name = 'cd' AND origin = 'a'", [s.schema]);
      const [local] = await tombstone();
      expect({ shipped: String(shipped!.version) }, 'the version b got is the one a recorded first').toEqual({ shipped: String(firstVersion) });
      expect(String(local!.version), "a's tombstone keeps it too").toBe(String(firstVersion));
      // b's update is newer than a's delete as a captured it first: it stays in both ezones.
      const rows = JSON.parse(await converge(s, 'cd', ['a', 'b'], { rows: 2, timeoutMs: 30_000 })) as { id: number; v: string }[];
      expect(rows.map((r) => [r.id, r.v])).toEqual([
        [1, 'b'],
        [2, 'stays'],
      ]);
      const verify = await runDrc(['verify', '--config', s.configFile, '--tables', `${s.schema}.cd`, '--json']);
      expect(verify.code, verify.stdout).toBe(0);
    },
    180_000,
  );

  it('a delete read late after a stop counts no later than it happened: a re-insert its origin made after it stays newer', async () => {
    // One source transaction per target transaction: the re-insert is never decided beside its delete.
    s = await scenario('late-del', { apply: { groupMaxTransactions: 1 } }, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      await s.db[ez]!.query('CREATE TABLE ld (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    }
    inProcess.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query("INSERT INTO ld (id, v) VALUES (1, 'base')");
    await converge(s, 'ld', ['a', 'b'], { rows: 1 });
    await stopDaemons(inProcess); // both down: a's capture reads what follows seconds late

    while (Date.now() % 1000 > 40) await sleep(5); // every write below in one second
    const second = Math.floor(Date.now() / 1000) * 1000;
    const at = async (ms: number) => {
      const wait = second + ms - Date.now();
      if (wait > 0) await sleep(wait);
    };
    await s.db.a!.query("INSERT INTO ld (id, v) VALUES (2, 'w')"); // a local write before the delete
    await at(150);
    await s.db.a!.query('DELETE FROM ld WHERE id = 1');
    await at(350);
    await s.db.a!.query("INSERT INTO ld (id, v) VALUES (1, 'a-again')"); // a re-inserts, in a transaction of its own
    await at(600);
    await s.db.b!.query("UPDATE ld SET v = 'b' WHERE id = 1"); // b, not knowing either, updates: newer than a's re-insert
    await s.db.a!.query("INSERT INTO ld (id, v) VALUES (3, 'end')");
    expect(Date.now() - second, 'every write in one second (else the test proves nothing)').toBeLessThan(950);
    await sleep(1500); // a's capture reads them more than a second late

    inProcess.push(...(await startDaemons(s, ['a', 'b'])));
    // In a, b's update beats a's re-inserted row; in b, a's delete must not beat b's update either.
    const rows = JSON.parse(await converge(s, 'ld', ['a', 'b'], { rows: 3, timeoutMs: 30_000 })) as { id: number; v: string }[];
    expect(rows.map((r) => [r.id, r.v])).toEqual([
      [1, 'b'],
      [2, 'w'],
      [3, 'end'],
    ]);
    await sleep(1000); // nothing still travelling changes it
    expect(JSON.parse(await converge(s, 'ld', ['a', 'b'], { rows: 3 }))).toEqual(rows);
  });
});
