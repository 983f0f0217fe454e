import { writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers, infra } from '../support/env.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { converge } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { createLogger } from '../../src/ops/logger.js';
import { restartServer } from '../../src/sandbox/sandbox.js';
import { TEST_SANDBOX_DIR } from '../support/infra.js';
import { ownRows, startWorkload, WORKLOAD_TABLE } from '../support/workload.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithServers('fault scenarios: the ezones end identical and nothing committed is lost', () => {
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
  const start = (ezone: string, configFile = s!.configFile) => {
    const d = new DaemonProcess(['run', '--config', configFile, '--ezone', ezone]);
    daemons.push(d);
    return d;
  };

  /** Wait for convergence, then prove it: drc verify reports nothing and every own-range row arrived. */
  async function settle(ezones: string[], inserted: Record<string, number>) {
    await converge(s!, 'w', ezones, { timeoutMs: 180_000 });
    const res = await runDrc(['verify', '--config', s!.configFile, '--tables', `${s!.schema}.w`, '--ezones', ezones.join(','), '--json']);
    expect(res.code, res.stdout).toBe(0);
    expect(JSON.parse(res.stdout).differences).toEqual([]);
    for (const ez of ezones) expect(await ownRows(s!.db[ez]!, ezones)).toEqual(inserted);
  }

  it.runIf(infra().mode === 'local' && infra().kafka.fault !== undefined)('survives a 30 s network partition between ezones with writes on both sides', async () => {
    s = await scenario('partition');
    for (const ez of ['a', 'b']) await s.db[ez]!.query(WORKLOAD_TABLE);
    // Ezone b reaches Kafka only through the proxy (the broker advertises the proxy's port to it).
    const fault = infra().kafka.fault!;
    proxy = new FaultProxy(fault.listenerPort, fault.proxyPort);
    await proxy.start();
    const bConfig = s.configFile.replace(/\.yaml$/, '.b.yaml');
    writeFileSync(bConfig, stringify({ ...s.config, kafka: { ...s.config.kafka, brokers: [`127.0.0.1:${fault.proxyPort}`] } }));
    await start('a').waitForLog('drc running');
    await start('b', bConfig).waitForLog('drc running');

    const work = startWorkload(s, ['a', 'b'], { bigTransactionRows: 20_000 });
    await wait(3000);
    proxy.blackhole(true);
    await wait(30_000);
    proxy.blackhole(false);
    proxy.cut(); // hung connections reset; clients reconnect
    await wait(3000);
    const inserted = await work.stop();
    await settle(['a', 'b'], inserted);
    for (const d of daemons) expect(d.child.exitCode).toBeNull();
    process.stdout.write(`\n[partition] 30 s partition; rows inserted ${JSON.stringify(inserted)}; verify: 0 differences\n`);
  }, 300_000);

  it('survives a paused daemon (SIGSTOP) that resumes after its peers moved on', async () => {
    s = await scenario('pause');
    for (const ez of ['a', 'b', 'c']) await s.db[ez]!.query(WORKLOAD_TABLE);
    const a = start('a');
    await a.waitForLog('drc running');
    await start('b').waitForLog('drc running');
    await start('c').waitForLog('drc running');
    const work = startWorkload(s, ['a', 'b', 'c']);
    await wait(2000);
    a.signal('SIGSTOP');
    await wait(20_000);
    a.signal('SIGCONT');
    await wait(3000);
    const inserted = await work.stop();
    await settle(['a', 'b', 'c'], inserted);
    process.stdout.write(`\n[pause] daemon a frozen 20 s; rows inserted ${JSON.stringify(inserted)}; verify: 0 differences\n`);
  }, 300_000);

  it('survives SIGKILL of a daemon in the middle of a multi-chunk transaction', async () => {
    s = await scenario('killmid');
    for (const ez of ['a', 'b']) await s.db[ez]!.query(WORKLOAD_TABLE);
    const a = start('a');
    await a.waitForLog('drc running');
    const b = start('b');
    await b.waitForLog('drc running');
    const work = startWorkload(s, ['a', 'b'], { bigTransactionRows: 30_000 });
    await wait(1500); // the big transaction (written at a's 50th statement) is being shipped and applied
    await a.kill('SIGKILL');
    await b.kill('SIGKILL');
    await wait(2000);
    await start('a').waitForLog('drc running');
    await start('b').waitForLog('drc running');
    await wait(2000);
    const inserted = await work.stop();
    await settle(['a', 'b'], inserted);
    process.stdout.write(`\n[kill-mid] both daemons SIGKILLed mid-stream; rows inserted ${JSON.stringify(inserted)}; verify: 0 differences\n`);
  }, 300_000);

  it.runIf(infra().mode === 'local')('survives a Kafka broker restart and a MySQL restart under a mixed workload', async () => {
    s = await scenario('restart2');
    for (const ez of ['a', 'b']) await s.db[ez]!.query(WORKLOAD_TABLE);
    await start('a').waitForLog('drc running');
    await start('b').waitForLog('drc running');
    const log = createLogger('warn');
    const work = startWorkload(s, ['a'], { bigTransactionRows: 10_000 });
    await wait(2000);
    await restartServer({ dir: TEST_SANDBOX_DIR, server: 'kafka', downMs: 3000, log });
    await wait(2000);
    await restartServer({ dir: TEST_SANDBOX_DIR, server: 'b', downMs: 3000, log });
    s.db.b = await connectEzone('b', s.schema);
    await wait(2000);
    const inserted = await work.stop();
    await settle(['a', 'b'], { ...inserted, b: 0 });
    for (const d of daemons) expect(d.child.exitCode).toBeNull();
    process.stdout.write(`\n[restarts-mixed] Kafka and MySQL b restarted under load; rows inserted ${JSON.stringify(inserted)}; verify: 0 differences\n`);
  }, 300_000);
});
