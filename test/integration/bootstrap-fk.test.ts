/**
 * `drc bootstrap` of tables with foreign keys (issue 16): ezone c added to a running a and b exactly as
 * README "Adding an ezone, step by step" says — the config first without c, then with it, a's and b's
 * daemons restarted one at a time — while a and b delete parents (ON DELETE CASCADE children, RESTRICT
 * children deleted first), write children under them and prune a self-referencing tree. Parents are
 * copied before children (the tables listed children first), the tree with checks off and its orphans
 * decided again; a, b and c end identical.
 */
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import type mysql from 'mysql2/promise';
import { stringify } from 'yaml';
import { afterEach, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/ports.js';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers, infra } from '../support/env.js';
import { converge } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const VERSIONED = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
// Named so that a plain listing puts children before their parent.
const TABLES = [
  `CREATE TABLE parent (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, ${VERSIONED})`,
  `CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NOT NULL, v VARCHAR(20) NOT NULL, ${VERSIONED}, CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE)`,
  `CREATE TABLE held (id INT PRIMARY KEY, parent_id INT NOT NULL, ${VERSIONED}, CONSTRAINT held_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE RESTRICT)`,
  // A child's parent has a larger key: in key order every child comes before its parent.
  `CREATE TABLE tree (id INT PRIMARY KEY, up INT NULL, ${VERSIONED}, CONSTRAINT tree_up FOREIGN KEY (up) REFERENCES tree (id) ON DELETE CASCADE)`,
];
const PARENTS = 2000;

const count = async (conn: mysql.Connection, sql: string, params: unknown[] = []): Promise<number> => {
  const [[r]] = await conn.query<mysql.RowDataPacket[]>(sql, params);
  return Number(Object.values(r!)[0]);
};

/** Parent/child writes in one ezone until stopped: parent deletes (cascade; RESTRICT children first), children under live parents, new families, tree prunes and growth. */
function fkWorkload(s: Scenario, ezones: string[]) {
  let running = true;
  let writes = 0;
  const loops = ezones.map(async (ez, index) => {
    const conn = await connectEzone(ez, s.schema);
    const random = s.random(10 + index);
    const pick = (n: number) => random.int(n);
    let i = 0;
    while (running) {
      i++;
      // Each ezone deletes its own parity of parents: no two ezones delete the same parent.
      const p = 2 * pick(PARENTS / 2) + 1 + index;
      const op = pick(6);
      try {
        if (op === 0) await conn.query('DELETE FROM parent WHERE id = ? AND id > 500', [p]);
        else if (op === 1) await conn.query('DELETE FROM held WHERE parent_id = ?; DELETE FROM parent WHERE id = ?', [p, p]);
        // Children only under the ezone's own parents: a and b never race each other on a parent (that
        // is the apply path's business); c's copy races them all.
        else if (op === 2) await conn.query("INSERT INTO child (id, parent_id, v) VALUES (?, ?, 'late')", [100_000 * (index + 1) + i, p]);
        else if (op === 3) {
          const id = 10_000 * (index + 1) + i;
          await conn.query("BEGIN; INSERT INTO parent (id, v) VALUES (?, 'new'); INSERT INTO child (id, parent_id, v) VALUES (?, ?, 'new'); INSERT INTO held (id, parent_id) VALUES (?, ?); COMMIT", [id, 300_000 + id, id, 300_000 + id, id]);
        } else if (op === 4 && pick(2) === 0) await conn.query('DELETE FROM tree WHERE id = ?', [2 * pick(500) + 1 + index]);
        else if (op === 4) await conn.query('INSERT INTO tree (id, up) VALUES (?, ?)', [5000 * (index + 1) + i, 2 * pick(500) + 1 + index]);
        else await conn.query("UPDATE parent SET v = CONCAT('u', ?) WHERE id = ?", [i, p]);
        writes++;
      } catch {
        await conn.query('ROLLBACK').catch(() => undefined); // a parent deleted meanwhile (1452), a child still there (1451), a taken key: the next write
      }
      await sleep(40);
    }
    await conn.end();
  });
  return {
    writes: () => writes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describeWithServers('drc bootstrap with foreign keys', () => {
  let s: Scenario | undefined;
  const processes: DaemonProcess[] = [];
  let stopWorkload: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stopWorkload?.();
    stopWorkload = undefined;
    for (const p of processes.splice(0)) if (p.child.exitCode === null) await p.kill('SIGTERM');
    await s?.db.c?.query('DELETE FROM drc_meta.bootstrap WHERE schema_name = ?', [s.schema]).catch(() => undefined);
    await s?.close();
    s = undefined;
  });

  it('adds ezone c step by step as the README says while a and b delete parents and write children; parents copied first, a, b and c identical', async () => {
    s = await scenario('bootstrap-fk');
    const { a, b, c } = s.db as Record<string, mysql.Connection>;
    void b;
    for (const conn of [a!, b!]) {
      await conn.query('SET SESSION sql_log_bin = 0'); // written before DRC ran
      for (const ddl of TABLES) await conn.query(ddl);
      await conn.query(`INSERT INTO parent (id, v, updated_at) SELECT seq, 'seed', '2026-01-01' FROM seq_1_to_${PARENTS}`);
      await conn.query(`INSERT INTO child (id, parent_id, v, updated_at) SELECT seq, 1 + seq % ${PARENTS}, 'seed', '2026-01-01' FROM seq_1_to_${2 * PARENTS}`);
      await conn.query(`INSERT INTO held (id, parent_id, updated_at) SELECT seq, seq, '2026-01-01' FROM seq_1_to_500`);
      await conn.query("INSERT INTO tree (id, up, updated_at) SELECT seq, IF(seq > 900, NULL, seq + 100), '2026-01-01' FROM seq_1000_to_1 ORDER BY seq DESC");
      await conn.query('SET SESSION sql_log_bin = 1');
    }
    // The config before c: a and b only, their daemons running.
    const full = s.configFile;
    const before = join(dirname(full), 'drc-ab.yaml');
    const { c: _c, ...ab } = s.config.ezones;
    writeFileSync(before, stringify({ ...s.config, ezones: ab }));
    const run = async (file: string, ez: string) => {
      const p = await DaemonProcess.start(['run', '--config', file, '--ezone', ez]);
      processes.push(p);
      await p.waitRole('active');
      return p;
    };
    const old = { a: await run(before, 'a'), b: await run(before, 'b') };
    const workload = fkWorkload(s, ['a', 'b']);
    stopWorkload = workload.stop;
    await waitFor(async () => workload.writes(), { what: 'the workload to start', until: (n) => n >= 50 });

    // Step 2: c added to the config file (here: the scenario's own, which names it), checked, then
    // a's and b's daemons restarted with it one at a time (SIGTERM drains).
    const doctor = await runDrc(['doctor', '--config', full]);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    for (const ez of ['a', 'b'] as const) {
      await old[ez].kill('SIGTERM');
      await run(full, ez);
    }
    // Step 3: c's daemon.
    const metricsPort = await freePort();
    const daemonC = new DaemonProcess(['run', '--config', full, '--ezone', 'c', '--metrics-port', String(metricsPort)]);
    processes.push(daemonC);
    await daemonC.waitRole('active');

    // Step 4: the copy, with an account that may create c's tables, while the workload runs (c's stream
    // replays a's and b's from their start meanwhile: on this shared machine its lag is not what is tested).
    const admin = infra().ezones.find((e) => e.name === 'c')!.mysql;
    const copy = await runDrc(['bootstrap', '--config', full, '--ezone', 'c', '--from', 'a', '--user', admin.user, '--password-env', 'ADMIN_PW', '--chunk-size', '200', '--max-chunks-per-second', '8', '--max-lag-ms', '60000', '--json'], { env: { ADMIN_PW: admin.password, DRC_LOG_LEVEL: 'info' }, timeoutMs: 250_000 });
    expect(copy.code, copy.stderr.slice(-6000)).toBe(0);
    const report = JSON.parse(copy.stdout) as { ok: boolean; tables: { table: string; rows: number; created: boolean; removed: number }[] };
    expect(report.ok).toBe(true);
    const order = report.tables.map((t) => t.table.replace(`${s!.schema}.`, ''));
    expect(order.indexOf('parent')).toBeLessThan(order.indexOf('child'));
    expect(order.indexOf('parent')).toBeLessThan(order.indexOf('held'));
    expect(order.sort()).toEqual(['child', 'held', 'parent', 'tree']);
    expect(report.tables.every((t) => t.created)).toBe(true);
    const during = workload.writes();

    await workload.stop();
    stopWorkload = undefined;
    expect(workload.writes() - 50, 'writes during the copy').toBeGreaterThan(100);
    expect(during).toBeGreaterThan(50);
    for (const table of ['parent', 'child', 'held', 'tree']) await converge(s, table, ['a', 'b', 'c'], { timeoutMs: 90_000 });

    // Step 5: the whole mesh.
    const verified = await runDrc(['verify', '--config', full, '--json'], { timeoutMs: 120_000 });
    expect(verified.code, verified.stderr).toBe(0);
    expect((JSON.parse(verified.stdout) as { differences: unknown[] }).differences).toEqual([]);
    const lag = await runDrc(['lag', '--config', full]);
    expect(lag.code, lag.stderr).toBe(0);
    for (const table of ['parent', 'child', 'held', 'tree']) {
      const counts = await Promise.all(['a', 'b', 'c'].map((e) => count(s!.db[e]!, `SELECT COUNT(*) FROM ${table}`)));
      expect(new Set(counts).size, `${table}: ${counts.join(' / ')}`).toBe(1);
    }
    // No orphan anywhere, and the parents the workload deleted are gone from c with their children.
    expect(await count(c!, 'SELECT COUNT(*) FROM child WHERE parent_id NOT IN (SELECT id FROM parent)')).toBe(0);
    expect(await count(c!, 'SELECT COUNT(*) FROM tree WHERE up IS NOT NULL AND up NOT IN (SELECT id FROM tree)')).toBe(0);
    expect(await count(a!, `SELECT COUNT(*) FROM parent WHERE id <= ${PARENTS}`)).toBeLessThan(PARENTS);
  }, 420_000);
});
