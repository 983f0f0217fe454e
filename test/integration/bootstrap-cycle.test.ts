/**
 * `drc bootstrap` of tables on a cycle of foreign keys (issue 16), copied with foreign-key checks off:
 *
 * - a self-referencing tree, where a child's parent has a larger key (so the child's chunk is copied
 *   first): while the copy runs, SOURCE a deletes parent 150 after the chunk holding its child 50 was
 *   written into c; a's cascade removes 50, c's stream finds 150 missing (its tombstone recorded, no
 *   cascade), and 50 stays in c without its parent. After the copy the orphan is removed as a delete at
 *   its own version, by its parent's delete tombstone — with `--keep-recent-ms` so large that SOURCE's
 *   horizon alone would keep it;
 * - a ring of two tables (ra.b_id → rb, rb.a_id → ra), copied one after the other.
 *
 * c ends identical to a (the final comparison finds nothing), the orphan counted in `removed`.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { bootstrap } from '../../src/admin/bootstrap.js';
import { ChunkCopyApplier } from '../../src/apply/copy-applier.js';
import { detectFlavor } from '../../src/db/connect.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import type { Row } from '../../src/model/value.js';
import { describeWithServers } from '../support/env.js';
import { startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';

const VERSIONED = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
const DDL = [
  `CREATE TABLE tree (id INT PRIMARY KEY, up INT NULL, ${VERSIONED}, CONSTRAINT tree_up FOREIGN KEY (up) REFERENCES tree (id) ON DELETE CASCADE)`,
  `CREATE TABLE ra (id INT PRIMARY KEY, b_id INT NULL, ${VERSIONED})`,
  `CREATE TABLE rb (id INT PRIMARY KEY, a_id INT NULL, ${VERSIONED}, CONSTRAINT rb_a FOREIGN KEY (a_id) REFERENCES ra (id) ON DELETE CASCADE)`,
  'ALTER TABLE ra ADD CONSTRAINT ra_b FOREIGN KEY (b_id) REFERENCES rb (id) ON DELETE SET NULL',
];
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

const ids = async (conn: mysql.Connection, sql: string): Promise<number[]> => ((await conn.query<mysql.RowDataPacket[]>(sql))[0] as mysql.RowDataPacket[]).map((r) => Number(r.id));

describeWithServers('drc bootstrap of tables on a foreign-key cycle', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons.splice(0));
    await s?.db.c?.query('DELETE FROM drc_meta.bootstrap WHERE schema_name = ?', [s.schema]).catch(() => undefined);
    await s?.close();
    s = undefined;
  });

  it('a self-referencing tree’s orphan (its parent deleted in SOURCE during the copy) is removed by the parent’s tombstone; a ring of two tables is copied; c identical to a', async () => {
    s = await scenario('bootstrap-cycle', {}, { ezones: ['a', 'c'] });
    const { a, c } = s.db as Record<string, mysql.Connection>;
    for (const conn of [a!, c!]) for (const ddl of DDL) await conn.query(ddl);
    await a!.query('SET SESSION sql_log_bin = 0'); // written before DRC ran
    await a!.query('SET SESSION foreign_key_checks = 0');
    // tree: 1..100 under 101..200 (50 under 150); the ring: ra n ↔ rb n.
    await a!.query("INSERT INTO tree (id, up, updated_at) SELECT seq, IF(seq <= 100, seq + 100, NULL), '2026-01-01' FROM seq_1_to_200");
    await a!.query("INSERT INTO ra (id, b_id, updated_at) SELECT seq, seq, '2026-01-01' FROM seq_1_to_50");
    await a!.query("INSERT INTO rb (id, a_id, updated_at) SELECT seq, seq, '2026-01-01' FROM seq_1_to_50");
    await a!.query('SET SESSION foreign_key_checks = 1');
    await a!.query('SET SESSION sql_log_bin = 1');
    daemons.push(...(await startDaemons(s, ['a', 'c'])));

    const log = testLogger();
    let stage: 'before' | 'deleted' = 'before';
    const report = await bootstrap(
      s.config,
      {
        target: 'c',
        source: 'a',
        resume: false,
        chunkSize: 10,
        concurrency: 1,
        maxChunksPerSecond: 100,
        maxLagMs: 120_000,
        waitStreamMs: 30_000,
        recheckDelayMs: 1000,
        rechecks: 10,
        // SOURCE's horizon reaches back ten years: it removes nothing; only the parent's tombstone can.
        keepRecentMs: TEN_YEARS_MS,
        beforeWrite: async (table: string, rows: Row[]) => {
          if (stage !== 'before' || !table.endsWith('.tree') || !rows.some((r) => Number(r.id) === 61)) return;
          // The chunk holding 50 is written (at most one chunk is read ahead); its parent 150 (read 9
          // chunks later) is deleted in a, and the delete reaches c, where 150 is missing: a tombstone,
          // no cascade — 50 stays in c without its parent.
          await a!.query('DELETE FROM tree WHERE id = 150');
          await eventually(
            'the delete of 150 applied in c',
            async () => {
              const [r] = await c!.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM drc_meta.applied_tombstones WHERE schema_name = ? AND table_name = 'tree'", [s!.schema]);
              return Number(r[0]?.n) > 0;
            },
            60_000,
          );
          stage = 'deleted';
        },
      },
      log,
      async (pool) => new ChunkCopyApplier({ ezone: 'c', pool, flavor: await detectFlavor(pool), config: s!.config, log }),
    );
    expect(stage).toBe('deleted');
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    const byTable = Object.fromEntries(report.tables.map((t) => [t.table.replace(`${s!.schema}.`, ''), t]));
    expect(Object.keys(byTable).sort()).toEqual(['ra', 'rb', 'tree']);
    expect(byTable.tree).toMatchObject({ removed: 1 });
    expect(await ids(c!, 'SELECT id FROM tree WHERE id IN (50, 150) ORDER BY id')).toEqual([]);
    expect(await ids(c!, 'SELECT id FROM tree')).toEqual(await ids(a!, 'SELECT id FROM tree'));
    expect(await ids(c!, 'SELECT id FROM tree WHERE up IS NOT NULL AND up NOT IN (SELECT id FROM tree)')).toEqual([]);
    for (const t of ['ra', 'rb']) expect(await ids(c!, `SELECT id FROM ${t} ORDER BY id`), t).toHaveLength(50);
    expect(await ids(c!, 'SELECT id FROM ra WHERE b_id NOT IN (SELECT id FROM rb)')).toEqual([]);
    expect(await ids(c!, 'SELECT id FROM rb WHERE a_id NOT IN (SELECT id FROM ra)')).toEqual([]);
  }, 240_000);
});
