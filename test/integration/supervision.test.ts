/**
 * Issue 11's acceptance: an apply stream facing a value its target rejects reaches the paused state
 * within the give-up window, says so in /healthz, metrics and one error log line, and resumes by
 * itself when the cause is fixed.
 */
import { writeFileSync } from 'node:fs';
import type { RowDataPacket } from 'mysql2/promise';
import { stringify } from 'yaml';
import { afterEach, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import type { Daemon } from '../../src/daemon.js';
import { freePort } from '../../src/sandbox/ports.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

const GIVE_UP_MS = 5000;

describeWithServers('supervision: a stream that cannot go on pauses loudly and resumes by itself', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  const processes: DaemonProcess[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) if (p.child.exitCode === null) await p.kill();
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('pauses apply on a value the target rejects (healthz, metrics, one error line without the value) and resumes once the column is widened', async () => {
    s = await scenario('supervision');
    // Two ezones only (no silent third origin to spoil health), and a short give-up window.
    const { a, b } = s.config.ezones;
    const config = configSchema.parse({
      ...s.config,
      ezones: { a, b },
      supervision: { initialDelay: '100ms', maxDelay: '1s', giveUpAfter: `${GIVE_UP_MS}ms`, pausedRetry: '500ms' },
    });
    writeFileSync(s.configFile, stringify(config));
    s = { ...s, config };
    const versioned = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
    await s.db.a!.query(`CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, ${versioned})`);
    await s.db.b!.query(`CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(5) NOT NULL, ${versioned})`); // narrower, strict sql_mode

    // drc_meta is shared by the scenarios on these servers: forget where an earlier scenario's stream
    // from a stopped (its offset means nothing on this scenario's fresh topic).
    await s.db.b!.query("DELETE FROM drc_meta.apply_position WHERE origin = 'a'");
    daemons.push(...(await startDaemons(s, ['a'])));
    const port = await freePort();
    const daemonB = new DaemonProcess(['run', '--config', s.configFile, '--ezone', 'b', '--metrics-port', String(port)]);
    processes.push(daemonB);
    const health = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return { status: res.status, body: await res.text() };
    };
    const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await daemonB.waitForLog('drc running');
    await s.db.a!.query("INSERT INTO t (id, name) VALUES (1, 'ok')");
    await converge(s, 't', ['a', 'b'], { rows: 1 });
    await eventually('b healthy', async () => (await health()).status === 200, 30_000);

    // A value b cannot store: the stream fails on it again and again, then pauses.
    const secret = 'private-value-of-alice@example.com';
    const insertedAt = Date.now();
    await s.db.a!.query('INSERT INTO t (id, name) VALUES (2, ?)', [secret]);
    let problem = '';
    await eventually('apply from a paused in /healthz', async () => {
      const h = await health();
      problem = h.body;
      return h.status === 503 && h.body.includes('apply from a is paused');
    }, GIVE_UP_MS + 20_000);
    expect(Date.now() - insertedAt).toBeLessThan(GIVE_UP_MS + 15_000);
    expect(problem).not.toContain(secret);
    expect(await metrics()).toMatch(/^drc_apply_paused\{origin="a",ezone="b"\} 1$/m);

    const lines = daemonB.log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const errors = lines.filter((l) => Number(l.level) >= 50);
    expect(errors, JSON.stringify(errors)).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'DRC_VALUE_REJECTED', table: `${s.schema}.t` });
    expect(errors[0]!.position ?? errors[0]!.offset).toBeDefined();
    expect(daemonB.log).not.toContain(secret);
    expect(daemonB.log).not.toContain('alice@example.com');

    // The operator widens the column: the row arrives, the stream runs again, health is green.
    await s.db.b!.query('ALTER TABLE t MODIFY name VARCHAR(50) NOT NULL');
    await converge(s, 't', ['a', 'b'], { rows: 2, timeoutMs: 30_000 });
    const [[row]] = await s.db.b!.query<RowDataPacket[]>('SELECT name FROM t WHERE id = 2');
    expect(row!.name).toBe(secret);
    await eventually('b healthy again', async () => (await health()).status === 200, 30_000);
    expect(await metrics()).toMatch(/^drc_apply_paused\{origin="a",ezone="b"\} 0$/m);
    expect(daemonB.log.split('\n').filter((l) => Number((JSON.parse(l.startsWith('{') ? l : '{}') as { level?: number }).level) >= 50)).toHaveLength(1);
  }, 180_000);
});
