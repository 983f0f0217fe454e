/**
 * `drc bootstrap` as a re-seed (issue 16): rows only the target holds, older than what the source has
 * received from every ezone, are removed with a tombstone at their own version — before the first
 * key, between keys, after the last — while a row written in the target during the copy, not yet
 * replicated to the source (the source's daemon stopped), survives and reaches the source afterwards.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { bootstrap } from '../../src/admin/bootstrap.js';
import { ChunkCopyApplier } from '../../src/apply/copy-applier.js';
import { formatReport } from '../../src/cli/commands/bootstrap.js';
import { detectFlavor } from '../../src/db/connect.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import type { Row } from '../../src/model/value.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';

const VERSIONED = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';

const ids = async (conn: mysql.Connection, sql: string): Promise<number[]> => ((await conn.query<mysql.RowDataPacket[]>(sql))[0] as mysql.RowDataPacket[]).map((r) => Number(r.id));

describeWithServers('drc bootstrap re-seed', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons.splice(0));
    await s?.db.c?.query('DELETE FROM drc_meta.bootstrap WHERE schema_name = ?', [s.schema]).catch(() => undefined);
    await s?.close();
    s = undefined;
  });

  it('removes the rows only c holds that a has decided away, and keeps one written in c during the copy that a has not received yet', async () => {
    s = await scenario('bootstrap-reseed', {}, { ezones: ['a', 'c'] });
    const { a, c } = s.db as Record<string, mysql.Connection>;
    const ddl = `CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, ${VERSIONED})`;
    await a!.query(ddl);
    await c!.query(ddl);
    for (const conn of [a!, c!]) await conn.query('SET SESSION sql_log_bin = 0');
    // a: the even keys 2..100. c: the same, and stale odd keys only it holds: before the first key, between keys, after the last.
    await a!.query("INSERT INTO t (id, v, updated_at) SELECT seq, 'seed', '2026-01-01' FROM seq_2_to_100_step_2");
    await c!.query("INSERT INTO t (id, v, updated_at) SELECT seq, 'seed', '2026-01-01' FROM seq_2_to_100_step_2");
    await c!.query("INSERT INTO t (id, v, updated_at) VALUES (1, 'stale', '2001-01-01'), (31, 'stale', '2026-01-01'), (101, 'stale', '2020-06-01')");
    for (const conn of [a!, c!]) await conn.query('SET SESSION sql_log_bin = 1');
    const [daemonA] = await startDaemons(s, ['a']);
    let runningA: Daemon | undefined = daemonA;
    daemons.push(...(await startDaemons(s, ['c'])));
    const log = testLogger();
    let stage: 'before' | 'a-stopped' | 'a-back' = 'before';
    const report = await bootstrap(
      s.config,
      {
        target: 'c',
        source: 'a',
        resume: false,
        chunkSize: 10,
        concurrency: 1,
        maxChunksPerSecond: 100,
        // While a's daemon is stopped c applies no heartbeat of a: no pause for it here.
        maxLagMs: 120_000,
        waitStreamMs: 30_000,
        recheckDelayMs: 1000,
        rechecks: 10,
        // No margin: only the horizon (what a has received from c) keeps row 51.
        keepRecentMs: 0,
        beforeWrite: async (_table: string, rows: Row[]) => {
          if (stage === 'before' && rows.some((r) => r.id === 2)) {
            // a stops applying c's stream; then c writes 51 (a lacks it). The chunk covering it is read
            // two chunks later (at most one is read ahead), so it finds 51 older than "now" but newer than a's knowledge.
            await stopDaemons([runningA!]);
            runningA = undefined;
            await c!.query("INSERT INTO t (id, v) VALUES (51, 'new-in-c')");
            stage = 'a-stopped';
          } else if (stage === 'a-stopped' && rows.some((r) => r.id === 82)) {
            // The chunk covering 51 was read and written meanwhile; a comes back and receives 51.
            daemons.push(...(await startDaemons(s!, ['a'])));
            stage = 'a-back';
          }
        },
      },
      log,
      async (pool) => new ChunkCopyApplier({ ezone: 'c', pool, flavor: await detectFlavor(pool), config: s!.config, log }),
    );
    expect(stage).toBe('a-back');
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(report.tables).toMatchObject([{ table: `${s.schema}.t`, rows: 50, removed: 3 }]);
    // The human report (without --json) has the JSON's `removed` column too.
    const [header, line] = formatReport(report).split('\n');
    const cells = (l: string | undefined) => (l ?? '').trim().split(/\s+/);
    expect(cells(line)[cells(header).indexOf('removed')], formatReport(report)).toBe('3');
    expect(await ids(c!, 'SELECT id FROM t WHERE id % 2 = 1 ORDER BY id')).toEqual([51]);
    // Each removal left a tombstone at the removed row's own version, from the copy's origin.
    const [stones] = await c!.query<mysql.RowDataPacket[]>("SELECT key_json, origin FROM drc_meta.applied_tombstones WHERE schema_name = ? AND table_name = 't' ORDER BY key_json", [s.schema]);
    expect(stones.map((r) => [String(r.key_json), String(r.origin)])).toEqual([
      [expect.stringContaining('"1"'), 'drc-bootstrap'],
      [expect.stringContaining('"101"'), 'drc-bootstrap'],
      [expect.stringContaining('"31"'), 'drc-bootstrap'],
    ]);
    await converge(s, 't', ['a', 'c'], { rows: 51 });
    // Newest wins: a later write of a removed key lands over its tombstone.
    await a!.query("INSERT INTO t (id, v) VALUES (31, 'written-again')");
    await converge(s, 't', ['a', 'c'], { rows: 52 });
  }, 180_000);
});
