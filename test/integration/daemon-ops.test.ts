import { afterEach, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/ports.js';
import { restartServer } from '../../src/sandbox/sandbox.js';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { adminConnection, describeWithServers, infra } from '../support/env.js';
import { TEST_SANDBOX_DIR } from '../support/infra.js';
import { converge } from '../support/replication.js';
import { connectEzone, eventually, scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';
import { sleep, waitFor } from '../support/wait.js';

interface LagJson {
  pairs: { origin: string; destination: string; lagMs: number | null; backlog: number | null; position: string | null; skewMs: number | null }[];
}

describeWithServers('drc run, lag, conflicts, doctor, metrics (the real binary)', () => {
  let s: Scenario | undefined;
  const daemons: DaemonProcess[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) if (d.child.exitCode === null) await d.kill();
    await s?.close();
    s = undefined;
  });

  async function start(ezone: string, metricsPort?: number): Promise<DaemonProcess> {
    const args = ['run', '--config', s!.configFile, '--ezone', ezone, ...(metricsPort ? ['--metrics-port', String(metricsPort)] : [])];
    const d = await DaemonProcess.start(args, { DRC_PROGRESS_MS: '5000' });
    daemons.push(d);
    await d.waitActive();
    return d;
  }

  const T = 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))';

  it('replicates both ways; lag, conflicts, metrics and health report it; SIGTERM drains and a restart loses nothing', async () => {
    s = await scenario('ops', {}, { ezones: ['a', 'b'] }); // no third origin without a daemon (it would fail /healthz: no heartbeat)
    for (const ez of ['a', 'b']) await s.db[ez]!.query(T);
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await start('a', pa);
    const b = await start('b', pb);
    await s.db.a!.query("INSERT INTO t (id, v) VALUES (1, 'from-a')");
    await s.db.b!.query("INSERT INTO t (id, v) VALUES (2, 'from-b')");
    await converge(s, 't', ['a', 'b'], { rows: 2 });

    // Steady state: every pair between the running ezones has a lag under 2 s.
    let lag: LagJson = { pairs: [] };
    await eventually('lag of a→b and b→a under 2 s', async () => {
      const res = await runDrc(['lag', '--config', s!.configFile, '--json']);
      expect(res.code, res.stderr).toBe(0);
      lag = JSON.parse(res.stdout) as LagJson;
      const pairs = lag.pairs.filter((p) => ['a>b', 'b>a'].includes(`${p.origin}>${p.destination}`));
      return pairs.length === 2 && pairs.every((p) => p.lagMs !== null && p.lagMs < 2000 && p.backlog === 0);
    }, 30_000);
    const ab = lag.pairs.find((p) => p.origin === 'a' && p.destination === 'b')!;
    expect(ab.position).toMatch(/^\d+-\d+-\d+/);
    expect(Math.abs(ab.skewMs ?? 1e9)).toBeLessThan(1000);
    const human = await runDrc(['lag', '--config', s.configFile]);
    expect(human.stdout.split('\n')[0]).toMatch(/^origin\s+destination\s+lagMs\s+backlog\s+skewMs\s+position/);

    // A deliberate conflict: both daemons frozen, the same row written on both sides.
    a.signal('SIGSTOP');
    b.signal('SIGSTOP');
    await s.db.a!.query("UPDATE t SET v = 'a-wins?', updated_at = '2031-01-01' WHERE id = 1");
    await s.db.b!.query("UPDATE t SET v = 'b-wins', updated_at = '2032-01-01' WHERE id = 1");
    a.signal('SIGCONT');
    b.signal('SIGCONT');
    await converge(s, 't', ['a', 'b'], { rows: 2 });
    let conflicts: { ezone: string; origin: string; table: string; key: unknown; reason: string; decision: string; at: string }[] = [];
    await eventually('conflict reported', async () => {
      const res = await runDrc(['conflicts', '--config', s!.configFile, '--since', '10m', '--table', `${s!.schema}.t`, '--json']);
      conflicts = (JSON.parse(res.stdout) as { conflicts: typeof conflicts }).conflicts;
      return conflicts.length === 2;
    });
    expect(conflicts.map((c) => [c.ezone, c.origin, c.table, c.key, c.reason, c.decision]).sort()).toEqual([
      ['a', 'b', `${s.schema}.t`, { id: 1 }, 'update-diverged', 'applied'],
      ['b', 'a', `${s.schema}.t`, { id: 1 }, 'update-diverged', 'skipped'],
    ]);
    const onlyB = JSON.parse((await runDrc(['conflicts', '--config', s.configFile, '--ezone', 'b', '--json'])).stdout) as { conflicts: unknown[] };
    expect(onlyB.conflicts.length).toBeGreaterThanOrEqual(1);
    expect((await runDrc(['conflicts', '--config', s.configFile, '--since', 'soon'])).code).toBe(2);

    // /metrics and /healthz.
    await eventually('healthy', async () => (await fetch(`http://127.0.0.1:${pb}/healthz`)).status === 200, 30_000);
    const metrics = await (await fetch(`http://127.0.0.1:${pb}/metrics`)).text();
    expect(metrics).toMatch(/drc_lag_seconds\{origin="a",destination="b",ezone="b"\} \d/);
    expect(metrics).toMatch(/drc_applied_transactions_total\{origin="a",ezone="b"\} [1-9]/);
    expect(metrics).toMatch(/drc_conflicts_total\{origin="a",reason="update-diverged",ezone="b"\} 1/);
    expect(metrics).toMatch(/process_resident_memory_bytes\{ezone="b"\} \d/);
    expect((await fetch(`http://127.0.0.1:${pb}/nope`)).status).toBe(404);

    // SIGTERM drains and exits 0; what is written meanwhile arrives after the restart.
    b.signal('SIGTERM');
    expect(await b.exited).toEqual({ code: 0, signal: null });
    for (let i = 10; i < 60; i++) await s.db.a!.query('INSERT INTO t (id, v) VALUES (?, ?)', [i, `while-b-down-${i}`]);
    await start('b');
    await converge(s, 't', ['a', 'b'], { rows: 52 });
  }, 180_000);

  it('doctor passes on the sandbox and fails naming the setting after binlog_row_image=MINIMAL', async () => {
    s = await scenario('doctor');
    const ok = await runDrc(['doctor', '--config', s.configFile, '--json']);
    const report = JSON.parse(ok.stdout) as { ok: boolean; checks: { ezone: string; check: string; ok: boolean; message: string }[] };
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(ok.code).toBe(0);
    expect(report.checks.map((c) => c.check)).toEqual(expect.arrayContaining(['binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'server_ids', 'auto_increment', 'primary_keys', 'version_columns', 'privileges', 'kafka']));
    // MySQL 8's binlog variants (issue 14): MariaDB has neither variable, so both pass without a warning.
    for (const setting of ['binlog_transaction_compression', 'binlog_row_value_options']) {
      expect(report.checks.filter((c) => c.check === setting)).toEqual(
        [...new Set(report.checks.filter((c) => c.check === 'connect').map((c) => c.ezone))].map((ezone) => ({ ezone, check: setting, ok: true, message: `${setting} does not exist on this server: ${setting === 'binlog_row_value_options' ? 'no partial JSON updates' : 'no compressed transactions'}` })),
      );
    }

    const root = await adminConnection('b');
    try {
      await root.query("SET GLOBAL binlog_row_image = 'MINIMAL'");
      const bad = await runDrc(['doctor', '--config', s.configFile, '--json']);
      expect(bad.code).toBe(1);
      const failed = (JSON.parse(bad.stdout) as typeof report).checks.filter((c) => !c.ok);
      expect(failed).toEqual([{ ezone: 'b', check: 'binlog_row_image', ok: false, message: expect.stringMatching(/binlog_row_image is MINIMAL, DRC needs FULL — SET GLOBAL binlog_row_image='FULL'/) }]);
      const human = await runDrc(['doctor', '--config', s.configFile]);
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/b\s+binlog_row_image\s+FAIL/);
    } finally {
      await root.query("SET GLOBAL binlog_row_image = 'FULL'");
      await root.end();
    }
  });

  it.runIf(infra().mode === 'local')('recovers by itself from a MariaDB restart and a Kafka broker restart while writes continue', async () => {
    s = await scenario('restarts');
    for (const ez of ['a', 'b']) await s.db[ez]!.query(T);
    await start('a');
    await start('b');
    const log = testLogger();
    let n = 0;
    let stop = false;
    // Writes continue in ezone a (its own connections reconnect when b restarts; a never does).
    const writer = (async () => {
      const conn = await adminConnection('a');
      await conn.query(`USE ${s!.schema}`);
      while (!stop) {
        await conn.query('INSERT INTO t (id, v) VALUES (?, ?)', [100 + n, `w${n}`]);
        n++;
        await sleep(10); // pacing: about 100 writes a second
      }
      await conn.end();
    })();
    // Each fault strikes while rows keep coming: wait for a fresh batch of writes before and after each.
    const moreWrites = async (k: number, what: string) => {
      const from = n;
      await waitFor(() => n, { what: `${k} more writes in a ${what}`, until: (now) => now >= from + k, timeoutMs: 60_000 });
    };
    await moreWrites(50, 'before the MariaDB restart');
    await restartServer({ dir: TEST_SANDBOX_DIR, server: 'b', downMs: 2000, log });
    s.db.b = await connectEzone('b', s.schema);
    await moreWrites(50, 'after the MariaDB restart');
    await restartServer({ dir: TEST_SANDBOX_DIR, server: 'kafka', downMs: 2000, log });
    await moreWrites(100, 'after the Kafka restart');
    stop = true;
    await writer;
    await s.db.b.query("INSERT INTO t (id, v) VALUES (1, 'from-b-after')");
    const rows = JSON.parse(await converge(s, 't', ['a', 'b'], { rows: n + 1, timeoutMs: 120_000 })) as unknown[];
    expect(rows.length).toBe(n + 1);
    for (const d of daemons) expect(d.child.exitCode).toBeNull();
    process.stdout.write(`\n[restarts] ${n} rows written in a across a MariaDB (b) and a Kafka restart; identical in both ezones\n`);
  }, 240_000);
});
