import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { runDrc } from '../support/cli.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';

interface Report {
  ok: boolean;
  tables: { table: string; rows: number }[];
  differences: { table: string; key: Record<string, unknown>; ezones: { ezone: string; present: boolean; version: string | null }[]; repaired?: { winner: string; deleted: boolean; changed: string[] } }[];
}

describeWithServers('drc verify', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('reports zero differences on identical ezones, finds a difference planted by hand, and --repair fixes it', async () => {
    s = await scenario('verify');
    const ddl = 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))';
    for (const ez of ['a', 'b', 'c']) await s.db[ez]!.query(ddl);
    daemons.push(...(await startDaemons(s, ['a', 'b', 'c'])));
    for (let i = 0; i < 2500; i += 250) {
      await s.db.a!.query(`INSERT INTO t (id, v) VALUES ${Array.from({ length: 250 }, (_, j) => `(${i + j}, 'v${i + j}')`).join(',')}`);
    }
    await converge(s, 't', ['a', 'b', 'c'], { rows: 2500 });
    const args = ['verify', '--config', s.configFile, '--tables', `${s.schema}.t`, '--chunk-size', '300', '--recheck-ms', '500', '--json'];

    const clean = await runDrc(args);
    expect(clean.code, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toEqual({ ok: true, tables: [{ table: `${s.schema}.t`, rows: 2500, chunks: 9 }], differences: [] });

    // Planted by hand, outside replication (the binlog never sees it): a changed row in b, a missing row in c.
    await s.db.b!.query('SET SESSION sql_log_bin = 0');
    await s.db.b!.query("UPDATE t SET v = 'planted' WHERE id = 1234");
    await s.db.c!.query('SET SESSION sql_log_bin = 0');
    await s.db.c!.query('DELETE FROM t WHERE id = 7');
    const found = await runDrc(args);
    expect(found.code).toBe(1);
    const report = JSON.parse(found.stdout) as Report;
    expect(report.differences.map((d) => [d.key, d.ezones.map((e) => `${e.ezone}:${e.present}`).join(' ')])).toEqual([
      [{ id: 7 }, 'a:true b:true c:false'],
      [{ id: 1234 }, 'a:true b:true c:true'],
    ]);

    const repaired = await runDrc([...args, '--repair']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect((JSON.parse(repaired.stdout) as Report).differences.map((d) => d.repaired)).toEqual([
      { winner: 'a', deleted: false, changed: ['c'] }, // the row exists where nothing deleted it
      { winner: 'b', deleted: false, changed: ['a', 'c'] }, // the planted row is the newest
    ]);
    const after = await runDrc(args);
    expect(after.code).toBe(0);
    expect((JSON.parse(after.stdout) as Report).differences).toEqual([]);
    const [rows] = await s.db.c!.query("SELECT reason, decision FROM drc_meta.conflicts WHERE schema_name = ? AND reason = 'verify-repair'", [s.schema]);
    expect(rows).toEqual([
      { reason: 'verify-repair', decision: 'applied' },
      { reason: 'verify-repair', decision: 'applied' },
    ]);
    const human = await runDrc(args.filter((a) => a !== '--json'));
    expect(human.stdout).toMatch(new RegExp(`${s.schema}\\.t\\s+2500\\s+9`));
  });
});
