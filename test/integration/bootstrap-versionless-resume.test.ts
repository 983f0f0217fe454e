/**
 * `drc bootstrap` of a table without a version column (issue 16), SIGKILLed mid-copy and resumed, with
 * a case-insensitive primary key: writes made in either ezone while no bootstrap runs (between the
 * kill and the resume) are journaled in c all the same (the journal outlives the process); the
 * resumed run waits until a holds c's writes before it copies a chunk, skips c's journaled key, and
 * continues after the last recorded chunk; a key spelled in another case in c is the same row.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { checksums } from '../support/checksums.js';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers } from '../support/env.js';
import { reconfigure } from '../support/reconfigure.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const ROWS = 20_000;
const key = (n: number) => `k${String(n).padStart(6, '0')}`;
const count = async (conn: mysql.Connection, sql: string, params: unknown[] = []): Promise<number> => {
  const [[r]] = await conn.query<mysql.RowDataPacket[]>(sql, params);
  return Number(Object.values(r!)[0]);
};
async function copiedRows(s: Scenario): Promise<{ status: string; rows_copied: number } | undefined> {
  const [rows] = await s.db.c!.query<mysql.RowDataPacket[]>("SELECT status, rows_copied FROM drc_meta.bootstrap WHERE schema_name = ? AND table_name = 'u'", [s.schema]);
  return rows[0] as { status: string; rows_copied: number } | undefined;
}

describeWithServers('drc bootstrap of a versionless table, SIGKILLed and resumed', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  const processes: DaemonProcess[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) if (p.child.exitCode === null) await p.kill();
    await stopDaemons(daemons);
    for (const t of ['bootstrap', 'bootstrap_journal', 'bootstrap_keys']) await s?.db.c?.query(`DELETE FROM drc_meta.${t} WHERE schema_name = ?`, [s.schema]).catch(() => undefined);
    await s?.close();
    s = undefined;
  });

  it('keeps every write made in a or c between the kill and the resume, with a _ci key spelled differently in c; a and c end identical', async () => {
    s = await scenario('bootstrap-vl-resume', {}, { ezones: ['a', 'c'] });
    const schema = s.schema;
    reconfigure(s, (c) => ({ ...c, tables: { [`${schema}.u`]: { versionColumn: null } } }));
    const { a, c } = s.db as Record<string, mysql.Connection>;
    const ddl = 'CREATE TABLE u (id VARCHAR(16) COLLATE utf8mb4_general_ci PRIMARY KEY, v VARCHAR(40) NOT NULL, n INT NOT NULL)';
    await a!.query(ddl);
    await c!.query(ddl);
    await a!.query('SET SESSION sql_log_bin = 0');
    await a!.query(`INSERT INTO u (id, v, n) SELECT CONCAT('k', LPAD(seq, 6, '0')), CONCAT('seed-', seq), seq FROM seq_1_to_${ROWS}`);
    await a!.query('SET SESSION sql_log_bin = 1');
    daemons.push(...(await startDaemons(s, ['a', 'c'])));

    const args = ['bootstrap', '--config', s.configFile, '--ezone', 'c', '--from', 'a', '--tables', `${schema}.u`, '--chunk-size', '500', '--max-chunks-per-second', '4', '--json'];
    let second: Awaited<ReturnType<typeof runDrc>>;
    const first = new DaemonProcess(args);
    processes.push(first);
    await waitFor(async () => (await copiedRows(s!).catch(() => undefined))?.rows_copied ?? 0, { what: 'the first run to copy 2,000 rows', until: (n) => n >= 2_000, timeoutMs: 60_000, abort: () => (first.child.exitCode !== null ? `bootstrap exited with ${first.child.exitCode}: ${first.log.slice(-2000)}` : undefined) });
    await first.kill('SIGKILL');
    const killedAt = (await copiedRows(s))!;
    expect(killedAt.status).toBe('copying');
    expect(killedAt.rows_copied).toBeLessThan(ROWS / 2);

    // No bootstrap runs now. c writes a row the copy has not reached, under its key spelled in upper
    // case — and a cannot apply it for a while (a session of a holds the row): the resumed run must
    // not copy a's older row over c's write, so it waits until a holds c's writes. a updates one row
    // and deletes another the copy has not reached either.
    const local = 15_000;
    const holder = await connectEzone('a', schema);
    try {
      await holder.beginTransaction();
      await holder.query('SELECT * FROM u WHERE id = ? FOR UPDATE', [key(local)]);
      await c!.query("INSERT INTO u (id, v, n) VALUES (?, 'local-c', -1)", [key(local).toUpperCase()]);
      await a!.query("UPDATE u SET v = 'updated-in-a' WHERE id = ?", [key(16_000)]);
      await a!.query('DELETE FROM u WHERE id = ?', [key(17_000)]);
      await waitFor(() => count(c!, "SELECT COUNT(*) FROM u WHERE id = ? AND v = 'updated-in-a'", [key(16_000)]), { what: "a's update to reach c", until: (n) => n === 1 });
      const resumed = runDrc([...args, '--resume'], { timeoutMs: 150_000 });
      await sleep(4_000); // under the applier's 10 s lock wait
      expect((await copiedRows(s))!.rows_copied).toBe(killedAt.rows_copied);
      expect(await count(a!, "SELECT COUNT(*) FROM u WHERE id = ? AND v = 'local-c'", [key(local)])).toBe(0);
      await holder.rollback();
      second = await resumed;
    } finally {
      await holder.rollback().catch(() => undefined);
      await holder.end();
    }
    expect(second.code, second.stderr).toBe(0);
    const report = JSON.parse(second.stdout) as { ok: boolean; resumed: boolean; tables: { table: string; copied: number; skipped: number; resumed: boolean }[] };
    expect(report.ok).toBe(true);
    expect(report.resumed).toBe(true);
    const u = report.tables.find((t) => t.table === `${schema}.u`)!;
    expect(u.resumed).toBe(true);
    expect(u.copied).toBeLessThan(ROWS - killedAt.rows_copied + 1); // continued after the last recorded chunk
    expect(u.skipped).toBeGreaterThanOrEqual(1); // c's journaled key

    await converge(s, 'u', ['a', 'c'], { rows: ROWS - 1, timeoutMs: 60_000 });
    // c's own write stands in both (the resumed copy skipped its journaled key), under one spelling per ezone's own row.
    for (const db of [a!, c!]) expect(await count(db, "SELECT COUNT(*) FROM u WHERE id = ? AND v = 'local-c'", [key(local)])).toBe(1);
    expect(await count(c!, 'SELECT COUNT(*) FROM u WHERE id = ?', [key(17_000)])).toBe(0);
    expect(await checksums(c!, ['u'])).toEqual(await checksums(a!, ['u']));
    const verified = await runDrc(['verify', '--config', s.configFile, '--tables', `${schema}.u`, '--json'], { timeoutMs: 120_000 });
    expect(verified.code, verified.stderr).toBe(0);
    expect((JSON.parse(verified.stdout) as { differences: unknown[] }).differences).toEqual([]);
  }, 240_000);
});
