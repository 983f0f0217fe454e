/**
 * Issue 11's acceptance: an apply stream facing a value its target rejects reaches the paused state
 * within the give-up window, says so in /healthz, metrics and one error log line, and resumes by
 * itself when the cause is fixed.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
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

  /** Two ezones only (no silent third origin to spoil health) and a short give-up window. */
  const twoEzones = (name: string) =>
    scenario(name, { supervision: { initialDelay: '100ms', maxDelay: '1s', giveUpAfter: `${GIVE_UP_MS}ms`, pausedRetry: '500ms' } }, { ezones: ['a', 'b'] });

  /** A daemon for b as a child process, with /healthz and /metrics. */
  async function startB(): Promise<{ daemon: DaemonProcess; health: () => Promise<{ status: number; body: string }>; metrics: () => Promise<string> }> {
    const daemon = await DaemonProcess.start(['run', '--config', s!.configFile, '--ezone', 'b']);
    processes.push(daemon);
    await daemon.waitActive();
    const port = daemon.metricsPort!;
    return {
      daemon,
      health: async () => {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        return { status: res.status, body: await res.text() };
      },
      metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    };
  }

  /** The JSON lines of a daemon's log at error level or above. */
  const errorLines = (log: string) =>
    log
      .split('\n')
      .filter((l) => l.startsWith('{') && l.endsWith('}'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => Number(l.level) >= 50);

  it('pauses apply on a value the target rejects (healthz, metrics, one error line without the value) and resumes once the column is widened', async () => {
    s = await twoEzones('supervision');
    const versioned = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
    await s.db.a!.query(`CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, ${versioned})`);
    await s.db.b!.query(`CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(5) NOT NULL, ${versioned})`); // narrower, strict sql_mode
    daemons.push(...(await startDaemons(s, ['a'])));
    const { daemon: daemonB, health, metrics } = await startB();
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

    const errors = errorLines(daemonB.log);
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
    expect(errorLines(daemonB.log)).toHaveLength(1);
  }, 180_000);

  it('pauses capture when the binlog cannot be read (privilege revoked) and resumes once it is granted again', async () => {
    s = await twoEzones('capturepause');
    await s.db.a!.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await s.db.b!.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    daemons.push(...(await startDaemons(s, ['a'])));
    const { daemon: daemonB, health, metrics } = await startB();
    await eventually('b healthy', async () => (await health()).status === 200, 30_000);
    const user = s.config.ezones.b!.mysql.user;
    try {
      // The running binlog connection keeps its privileges: revoke, then cut it.
      await s.db.b!.query(`REVOKE REPLICATION SLAVE ON *.* FROM '${user}'@'%'`);
      let dumps: RowDataPacket[] = [];
      await eventually('capture reading the binlog', async () => {
        [dumps] = await s!.db.b!.query<RowDataPacket[]>("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND LIKE 'Binlog Dump%'", [user]);
        return dumps.length > 0;
      }, 30_000);
      for (const d of dumps) await s.db.b!.query(`KILL ${Number(d.ID)}`);
      await eventually('capture paused in /healthz', async () => {
        const h = await health();
        return h.status === 503 && h.body.includes('capture is paused: DRC_ACCESS_DENIED');
      }, GIVE_UP_MS + 20_000);
      expect(await metrics()).toMatch(/^drc_capture_paused\{ezone="b"\} 1$/m);
      const errors = errorLines(daemonB.log);
      expect(errors, JSON.stringify(errors)).toHaveLength(1);
      expect(errors[0]).toMatchObject({ stream: 'capture', code: 'DRC_ACCESS_DENIED' });
      expect(errors[0]!.position).toBeDefined();
    } finally {
      await s.db.b!.query(`GRANT REPLICATION SLAVE ON *.* TO '${user}'@'%'`);
    }
    await s.db.b!.query('INSERT INTO t VALUES (1, 1)');
    await converge(s, 't', ['a', 'b'], { rows: 1, timeoutMs: 30_000 });
    await eventually('b healthy again', async () => (await health()).status === 200, 30_000);
    expect(await metrics()).toMatch(/^drc_capture_paused\{ezone="b"\} 0$/m);
    expect(daemonB.log).toContain('stream resumed');
  }, 120_000);
});
