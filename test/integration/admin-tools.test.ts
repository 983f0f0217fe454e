/**
 * The admin tools tell the truth, each tried as a new user would: servers down (a config pointing at
 * closed ports), daemons stopped, a bad config file, a conflict list longer than --limit.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/loader.js';
import { ensureMetaSchema } from '../../src/db/meta-schema.js';
import { freePort } from '../../src/sandbox/ports.js';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers, infra } from '../support/env.js';
import { converge } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

interface LagJson {
  pairs: { origin: string; destination: string; lagMs: number | null; backlog: number | null; skewMs: number | null; skewReason?: string; hint?: string; error?: string }[];
}

/** The test servers' config with every ezone's database and Kafka moved to closed ports. */
async function configWithServersDown(): Promise<string> {
  const base = loadConfig(infra().config);
  const ezones: Record<string, unknown> = {};
  for (const [name, ez] of Object.entries(base.ezones)) ezones[name] = { ...ez, mysql: { ...ez.mysql, port: await freePort() } };
  const file = join(mkdtempSync(join(tmpdir(), 'drc-down-')), 'drc.yaml');
  writeFileSync(file, stringify({ ...base, ezones, kafka: { ...base.kafka, brokers: [`127.0.0.1:${await freePort()}`] } }));
  return file;
}

/** Node prints "    at fn (file:line)" lines in a stack trace. */
const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;

describeWithServers('admin tools tell the truth', () => {
  let s: Scenario | undefined;
  const daemons: DaemonProcess[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) if (d.child.exitCode === null) await d.kill();
    await s?.close();
    s = undefined;
  });

  it('with every server down: lag and verify exit 3 naming what is unreachable, doctor fails every check it could not make', async () => {
    const down = await configWithServersDown();
    const ezones = Object.keys(loadConfig(down).ezones);

    const lag = await runDrc(['lag', '--config', down, '--json']);
    expect(lag.code).toBe(3);
    const pairs = (JSON.parse(lag.stdout) as LagJson).pairs;
    expect(pairs.length).toBe(ezones.length * (ezones.length - 1));
    for (const p of pairs) {
      expect(p.error).toMatch(new RegExp(`cannot connect to ezone ${p.destination}'s database .*; cannot reach Kafka`));
      expect([p.lagMs, p.backlog, p.skewMs]).toEqual([null, null, null]);
    }
    const lagHuman = await runDrc(['lag', '--config', down]);
    expect(lagHuman.code).toBe(3);
    expect(lagHuman.stdout).toMatch(/cannot connect to ezone a's database/);
    expect(lagHuman.stderr).toMatch(/could not be reached/);

    const verify = await runDrc(['verify', '--config', down]);
    expect(verify.code).toBe(3);
    expect(verify.stderr.trim().split('\n')).toHaveLength(1);
    expect(verify.stderr).toMatch(/^drc: cannot connect to ezone a's database at 127\.0\.0\.1:\d+/);
    expect(verify.stderr).not.toMatch(STACK_LINE);
    const verifyJson = await runDrc(['verify', '--config', down, '--json']);
    expect(verifyJson.code).toBe(3);
    expect(JSON.parse(verifyJson.stdout)).toMatchObject({ ok: false, error: expect.stringMatching(/cannot connect to ezone a's database/) });

    const doctor = await runDrc(['doctor', '--config', down, '--json']);
    expect(doctor.code).toBe(1);
    const checks = (JSON.parse(doctor.stdout) as { ok: boolean; checks: { ezone: string; check: string; ok: boolean; message: string }[] }).checks;
    expect(checks.find((c) => c.check === 'server_ids')).toMatchObject({ ok: false, message: expect.stringMatching(/^not checked: no data from ezone a/) });
    for (const ez of ezones) expect(checks.find((c) => c.ezone === ez && c.check === 'connect')).toMatchObject({ ok: false, message: expect.stringMatching(/is the server running\?/) });
    expect(checks.find((c) => c.check === 'kafka')).toMatchObject({ ok: false });
    expect(checks.filter((c) => c.ok)).toEqual([]);
  }, 120_000);

  it('config check --json on a bad file prints the problems as JSON and exits 2', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drc-bad-')), 'drc.yaml');
    writeFileSync(file, 'kafka:\n  brokers: [127.0.0.1:9092]\n  topicPrefx: x\nezones:\n  a:\n    mysql: { port: nope }\n    serverId: 1\n');
    const res = await runDrc(['config', 'check', '--config', file, '--json']);
    expect(res.code).toBe(2);
    const doc = JSON.parse(res.stdout) as { ok: boolean; problems: { path: string; message: string }[] };
    expect(doc.ok).toBe(false);
    expect(doc.problems.map((p) => p.path).sort()).toEqual(['ezones.a.mysql.port', 'kafka.topicPrefx']);
    for (const p of doc.problems) expect(p.message).toEqual(expect.any(String));
    const missing = await runDrc(['config', 'check', '--config', join(tmpdir(), 'no-such-drc.yaml'), '--json']);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toEqual({ ok: false, problems: [{ path: '', message: expect.stringMatching(/file not found/) }] });
  });

  it('a deprecated key is accepted: config check lists it, other commands warn once on stderr', async () => {
    const base = loadConfig(infra().config);
    const file = join(mkdtempSync(join(tmpdir(), 'drc-deprecated-')), 'drc.yaml');
    writeFileSync(file, stringify({ ...base, capture: { ...base.capture, maxInFlightBatches: 4 } }));
    const check = await runDrc(['config', 'check', '--config', file, '--json']);
    expect(check.code).toBe(0);
    expect((JSON.parse(check.stdout) as { deprecated: unknown[] }).deprecated).toEqual([{ path: 'capture.maxInFlightBatches', message: expect.stringMatching(/has no effect/) }]);
    const other = await runDrc(['conflicts', '--config', file, '--since', '1s', '--json']);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stderr.match(/config key capture\.maxInFlightBatches is deprecated/g)).toHaveLength(1);
  });

  it('conflicts says when --limit cut the list: truncated and the total in JSON, a line in human output', async () => {
    s = await scenario('conflicts_limit');
    await ensureMetaSchema(s.db.a!);
    for (let i = 0; i < 5; i++) {
      await s.db.a!.query(
        `INSERT INTO drc_meta.conflicts (detected_at, ezone, origin, schema_name, table_name, key_json, reason, decision, origin_tx)
         VALUES (UTC_TIMESTAMP(6), 'a', 'b', ?, 't', ?, 'update-diverged', 'applied', 'test')`,
        [s.schema, JSON.stringify({ id: i })],
      );
    }
    const args = ['conflicts', '--config', s.configFile, '--ezone', 'a', '--table', `${s.schema}.t`, '--since', '10m'];
    const cut = JSON.parse((await runDrc([...args, '--limit', '3', '--json'])).stdout) as { conflicts: unknown[]; total: number; truncated: boolean };
    expect([cut.conflicts.length, cut.total, cut.truncated]).toEqual([3, 5, true]);
    const whole = JSON.parse((await runDrc([...args, '--json'])).stdout) as typeof cut;
    expect([whole.conflicts.length, whole.total, whole.truncated]).toEqual([5, 5, false]);
    const human = await runDrc([...args, '--limit', '3']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/showing 3 of 5 conflicts .*raise --limit/);
    expect((await runDrc([...args, '--limit', 'lots'])).code).toBe(2);
  });

  it('verify compares several tables with --concurrency, and reports differences in table and key order', async () => {
    s = await scenario('verify_concurrency');
    for (const t of ['t1', 't2']) {
      for (const ez of ['a', 'b', 'c']) {
        await s.db[ez]!.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)`);
        await s.db[ez]!.query(`INSERT INTO ${t} (id, v) VALUES ${Array.from({ length: 450 }, (_, i) => `(${i}, 'v${i}')`).join(',')}`);
      }
    }
    await s.db.b!.query("UPDATE t2 SET v = 'planted' WHERE id = 321");
    await s.db.c!.query('DELETE FROM t1 WHERE id = 77');
    await s.db.a!.query("UPDATE t1 SET v = 'planted' WHERE id = 400");
    const args = ['verify', '--config', s.configFile, '--tables', `${s.schema}.t1,${s.schema}.t2`, '--chunk-size', '50', '--recheck-ms', '100', '--pause-ms', '0', '--json'];
    for (const concurrency of ['1', '4']) {
      const res = await runDrc([...args, '--concurrency', concurrency]);
      expect(res.code, res.stderr).toBe(1);
      const report = JSON.parse(res.stdout) as { tables: { table: string; rows: number; chunks: number }[]; differences: { table: string; key: unknown }[] };
      expect(report.tables).toEqual([
        { table: `${s.schema}.t1`, rows: 450, chunks: 10 },
        { table: `${s.schema}.t2`, rows: 450, chunks: 10 },
      ]);
      expect(report.differences.map((d) => [d.table, d.key])).toEqual([
        [`${s.schema}.t1`, { id: 77 }],
        [`${s.schema}.t1`, { id: 400 }],
        [`${s.schema}.t2`, { id: 321 }],
      ]);
    }
    expect((await runDrc([...args, '--concurrency', '0'])).code).toBe(2);
  });

  it('lag with the daemons stopped: growing lag, no skew, and a hint naming the daemon that is not running', async () => {
    s = await scenario('lag_stopped');
    const interval = s.config.heartbeat.interval;
    await s.db.a!.query('CREATE TABLE t (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    await s.db.b!.query('CREATE TABLE t (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    for (const ez of ['a', 'b']) {
      const d = new DaemonProcess(['run', '--config', s.configFile, '--ezone', ez]);
      daemons.push(d);
      await d.waitForLog('drc running');
    }
    await s.db.a!.query('INSERT INTO t (id) VALUES (1)');
    await converge(s, 't', ['a', 'b'], { rows: 1 });
    const lag = async () => {
      const res = await runDrc(['lag', '--config', s!.configFile, '--json']);
      expect(res.code, res.stderr).toBe(0);
      const pairs = (JSON.parse(res.stdout) as LagJson).pairs;
      return { ab: pairs.find((p) => p.origin === 'a' && p.destination === 'b')!, ba: pairs.find((p) => p.origin === 'b' && p.destination === 'a')! };
    };
    await eventually('a skew estimate between the running daemons', async () => (await lag()).ab.skewMs !== null, 30_000);

    // a stops first: b applies all of a's stream, while b's heartbeats pile up unapplied for a.
    const [a, b] = daemons as [DaemonProcess, DaemonProcess];
    a.signal('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    await eventually('b caught up with a', async () => (await lag()).ab.backlog === 0, 30_000);
    // b's next heartbeat is at most one interval away: wait for it in b's stream rather than hope it
    // came before b stops (b caught up at once in a fast run, and stopped before writing one).
    await eventually("b's heartbeats unapplied by a", async () => ((await lag()).ba.backlog ?? 0) > 0, 30_000);
    b.signal('SIGTERM');
    expect(await b.exited).toEqual({ code: 0, signal: null });
    await new Promise((r) => setTimeout(r, 4 * interval));

    const { ab, ba } = await lag();
    expect(ab.lagMs).toBeGreaterThan(3 * interval);
    expect(ab).toMatchObject({ backlog: 0, skewMs: null, skewReason: expect.any(String), hint: expect.stringMatching(/^no heartbeat for \d+ s: is the daemon for a running\?$/) });
    expect(ba.backlog).toBeGreaterThan(0);
    expect(ba).toMatchObject({ skewMs: null, skewReason: 'not estimated while a stream is backlogged', hint: expect.stringMatching(/^no heartbeat for \d+ s: is the daemon for a running\?$/) });
    expect((await lag()).ab.lagMs).toBeGreaterThanOrEqual(ab.lagMs!); // the silence keeps growing
  }, 120_000);
});
