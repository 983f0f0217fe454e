/**
 * Issue 12, the row "a table without a primary key created while DRC runs, then written → the
 * daemon exits, and exits again at every restart": now the table is refused by name (skipped,
 * counted, reported by doctor, /healthz and metrics), the daemon stays up, across a restart too,
 * every other table keeps replicating, and the table replicates once it has a primary key.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

describeWithServers('a table without a primary key is refused alone', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  const processes: DaemonProcess[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) if (p.child.exitCode === null) await p.kill();
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  const twoEzones = (name: string) => scenario(name, {}, { ezones: ['a', 'b'] });

  const startA = async (sc: Scenario) => {
    const daemon = await DaemonProcess.start(['run', '--config', sc.configFile, '--ezone', 'a']);
    processes.push(daemon);
    await daemon.waitActive(60_000);
    return daemon;
  };
  const count = async (sc: Scenario, ezone: string, table: string) => {
    const [[r]] = await sc.db[ezone]!.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
    return Number(r!.n);
  };

  it('skips and reports a keyless table created and written while the daemon runs; the rest flows, across a restart; it replicates once it has a key', async () => {
    s = await twoEzones('nopk');
    const versioned = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
    for (const ez of ['a', 'b']) await s.db[ez]!.query(`CREATE TABLE ok (id INT PRIMARY KEY, v INT NOT NULL, ${versioned})`);
    daemons.push(...(await startDaemons(s, ['b'])));
    let a = await startA(s);
    await s.db.a!.query('INSERT INTO ok (id, v) VALUES (1, 1)');
    await converge(s, 'ok', ['a', 'b'], { rows: 1 });

    // Created and written while the daemon runs, alone and in one transaction with a replicated table.
    const keyless = `${s.schema}.keyless`;
    await s.db.a!.query('CREATE TABLE keyless (v INT, note VARCHAR(20))');
    await s.db.b!.query('CREATE TABLE keyless (v INT, note VARCHAR(20))');
    await s.db.a!.query("INSERT INTO keyless VALUES (1, 'x'), (2, 'y')");
    await s.db.a!.query('BEGIN');
    await s.db.a!.query("INSERT INTO keyless VALUES (3, 'z')");
    await s.db.a!.query('INSERT INTO ok (id, v) VALUES (2, 2)');
    await s.db.a!.query('COMMIT');
    await s.db.a!.query('UPDATE keyless SET v = v + 10');
    await s.db.a!.query('INSERT INTO ok (id, v) VALUES (3, 3)');
    await converge(s, 'ok', ['a', 'b'], { rows: 3, timeoutMs: 30_000 });
    expect(a.child.exitCode).toBeNull();
    expect(await count(s, 'b', 'keyless')).toBe(0);

    const health = await a.health();
    expect(health.httpStatus).toBe(200); // the rest flows: a warning, not a failure
    expect(health.warnings).toEqual([expect.stringContaining(`table ${keyless} has no primary key: refused, 6 row change(s) not replicated`)]);
    expect(await a.metric('drc_capture_refused_tables')).toBe(1);
    expect(await a.metric('drc_capture_refused_rows_total', { table: keyless })).toBe(6);

    const doctor = await runDrc(['doctor', '--config', s.configFile, '--ezone', 'a', '--json']);
    expect(doctor.code).toBe(1);
    const check = (JSON.parse(doctor.stdout) as { checks: { check: string; ok: boolean; message: string }[] }).checks.find((c) => c.check === 'primary_keys')!;
    expect(check.ok).toBe(false);
    expect(check.message).toContain(keyless);

    // A restart with the keyless table in place: the daemon starts (it used to exit at every start).
    await a.kill('SIGTERM');
    a = await startA(s);
    expect((await a.health()).warnings).toEqual([expect.stringContaining(`table ${keyless} has no primary key`)]);
    await s.db.a!.query('INSERT INTO ok (id, v) VALUES (4, 4)');
    await s.db.a!.query("INSERT INTO keyless VALUES (4, 'w')");
    await converge(s, 'ok', ['a', 'b'], { rows: 4, timeoutMs: 30_000 });
    await eventually('the refused row counted after the restart', async () => (await a.metric('drc_capture_refused_rows_total', { table: keyless })) === 1, 15_000);
    expect(a.child.exitCode).toBeNull();

    // Given a primary key (in each ezone: DDL is not replicated), it replicates from its next change on.
    await s.db.b!.query('ALTER TABLE keyless ADD PRIMARY KEY (v)');
    await s.db.a!.query('ALTER TABLE keyless ADD PRIMARY KEY (v)');
    await s.db.a!.query("INSERT INTO keyless VALUES (100, 'after')");
    await eventually('the keyed table replicates', async () => (await count(s!, 'b', 'keyless')) === 1, 30_000);
    const [[row]] = await s.db.b!.query<RowDataPacket[]>('SELECT v, HEX(note) AS note FROM keyless');
    expect(row).toEqual({ v: 100, note: Buffer.from('after').toString('hex').toUpperCase() });
    await eventually('no longer refused', async () => (await a.metric('drc_capture_refused_tables')) === 0 && (await a.health()).warnings.length === 0, 15_000);
    expect(await count(s, 'a', 'keyless')).toBe(5); // rows written before the key were not replicated: re-seed them (README)
  }, 180_000);
});
