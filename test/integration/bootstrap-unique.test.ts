/**
 * `drc bootstrap` into a target whose rows collide with the copied ones on a secondary UNIQUE key
 * (issue 16 leftover): two rows that claim the same value under different primary keys, written
 * before DRC ran. The stream's rule holds for the copy too: the newest claimant of the value survives,
 * in TARGET as in SOURCE — never a duplicate-key error that stops the copy, never both rows gone. A
 * row only TARGET holds, up to SOURCE's horizon, is an image SOURCE never saw: it is removed, and its
 * claim with it, whether the copied claimant meets it live or after the re-seed removed it.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { bootstrap, type BootstrapOptions } from '../../src/admin/bootstrap.js';
import { ChunkCopyApplier } from '../../src/apply/copy-applier.js';
import { detectFlavor } from '../../src/db/connect.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { contents, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';

const DDL = 'CREATE TABLE t (id INT PRIMARY KEY, u VARCHAR(20) NOT NULL, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), UNIQUE KEY uk_u (u))';
const OPTIONS: Omit<BootstrapOptions, 'target' | 'source'> = {
  resume: false,
  chunkSize: 10,
  concurrency: 1,
  maxChunksPerSecond: 100,
  maxLagMs: 120_000,
  waitStreamMs: 30_000,
  recheckDelayMs: 1000,
  rechecks: 5,
};

describeWithServers('drc bootstrap and secondary unique keys', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons.splice(0));
    await s?.db.c?.query('DELETE FROM drc_meta.bootstrap WHERE schema_name = ?', [s.schema]).catch(() => undefined);
    await s?.close();
    s = undefined;
  });

  /** a and c hold rows written before DRC ran (not in the binlog); then c is bootstrapped from a. */
  const run = async (name: string, inA: string, inC: string, more: { beforeCopy?: (c: mysql.Connection) => Promise<void>; options?: Partial<BootstrapOptions>; ddl?: string; columns?: string } = {}) => {
    s = await scenario(name, {}, { ezones: ['a', 'c'] });
    const { a, c } = s.db as Record<string, mysql.Connection>;
    for (const [conn, rows] of [[a!, inA], [c!, inC]] as const) {
      await conn.query(more.ddl ?? DDL);
      await conn.query('SET SESSION sql_log_bin = 0');
      await conn.query(`INSERT INTO t (${more.columns ?? 'id, u, v, updated_at'}) VALUES ${rows}`);
      await conn.query('SET SESSION sql_log_bin = 1');
    }
    daemons.push(...(await startDaemons(s, ['a', 'c'])));
    await more.beforeCopy?.(c!);
    const report = await bootstrap(s.config, { ...OPTIONS, ...more.options, target: 'c', source: 'a' }, testLogger(), async (pool) => new ChunkCopyApplier({ ezone: 'c', pool, flavor: await detectFlavor(pool), config: s!.config, log: testLogger() }));
    return { report, a: a!, c: c! };
  };

  it("the copied row is the newer claimant: c's older row holding the value goes, c ends as a", async () => {
    const { report, a, c } = await run(
      'bootstrap_unique_newer',
      "(1, 'x', 'a-new', '2026-06-01'), (2, 'y', 'same', '2026-01-01'), (5, 'z', 'a', '2026-01-01')",
      "(3, 'x', 'c-old', '2026-01-01'), (2, 'y', 'same', '2026-01-01'), (4, 'z', 'c-old', '2025-01-01')",
    );
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(await contents(c, 't')).toBe(await contents(a, 't'));
  }, 180_000);

  it("the copied row is the older claimant of a value c's own row claims newer: c's row, unknown to a, is removed first; c ends as a (never with neither)", async () => {
    const { report, a, c } = await run('bootstrap_unique_older', "(1, 'x', 'a-old', '2026-01-01'), (2, 'y', 'same', '2026-01-01')", "(3, 'x', 'c-new', '2026-06-01'), (2, 'y', 'same', '2026-01-01')");
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(await contents(c, 't')).toBe(await contents(a, 't'));
    expect(await contents(c, 't')).toContain('a-old');
  }, 180_000);

  it("c's newer rival sits in an earlier chunk: the re-seed removes it before the claimant's chunk, and leaves no claim that would beat it", async () => {
    const filler = Array.from({ length: 11 }, (_, i) => `(${i + 2}, 'f${i}', 'same', '2026-01-01')`).join(', ');
    const { report, a, c } = await run('bootstrap_unique_earlier', `${filler}, (40, 'x', 'a-old', '2026-01-01')`, "(1, 'x', 'c-new', '2026-06-01')");
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(await contents(c, 't')).toBe(await contents(a, 't'));
    expect(await contents(c, 't')).toContain('a-old');
  }, 180_000);

  it("c's rival holds a key a also holds, with a newer image there: a's image of that key is copied first, and the claim it leaves of c's old image does not beat a's row", async () => {
    const { report, a, c } = await run('bootstrap_unique_shared', "(1, 'x', 'a-old', '2026-01-01'), (3, 'z', 'a-new', '2026-03-01')", "(3, 'x', 'c-mid', '2026-02-01')");
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(await contents(c, 't')).toBe(await contents(a, 't'));
  }, 180_000);

  it("the rival's key comes in an earlier chunk and a's newer image replaces it: the claim c's old image leaves is dropped when a's claimant comes", async () => {
    const filler = Array.from({ length: 11 }, (_, i) => `(${i + 2}, 'f${i}', 'same', '2026-01-01')`).join(', ');
    const { report, a, c } = await run('bootstrap_unique_replaced', `(1, 'z', 'a-new', '2026-03-01'), ${filler}, (40, 'x', 'a-old', '2026-01-01')`, "(1, 'x', 'c-mid', '2026-02-01')");
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(await contents(c, 't')).toBe(await contents(a, 't'));
    expect(await contents(c, 't')).toContain('a-old');
  }, 180_000);

  it("the rival is newer than the horizon of the claimant's chunk but not of its own: removed there, and the claimant, copied once more, ends in c", async () => {
    const filler = Array.from({ length: 59 }, (_, i) => `(${i + 2}, 'f${i}', 'same', '2026-01-01')`).join(', ');
    const { report, a, c } = await run('bootstrap_unique_later', `(1, 'x', 'a-old', '2026-01-01'), ${filler}`, "(100, 'x', 'c-soon', '2026-01-01')", {
      // c's row stamped 2 s ahead: newer than the horizon of the first chunk, older than that of its own (7 chunks at 1 a second).
      beforeCopy: async (conn) => {
        await conn.query('SET SESSION sql_log_bin = 0');
        await conn.query('UPDATE t SET updated_at = UTC_TIMESTAMP(6) + INTERVAL 2 SECOND WHERE id = 100');
        await conn.query('SET SESSION sql_log_bin = 1');
      },
      options: { keepRecentMs: 0, maxChunksPerSecond: 1 },
    });
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(await contents(c, 't')).toBe(await contents(a, 't'));
    expect(await contents(c, 't')).toContain('a-old');
  }, 180_000);

  // Keys as real schemas have them (the cases above with INT keys and a plain VARCHAR): a composite
  // primary key of a BIGINT UNSIGNED above 2^53 and a case-insensitive VARCHAR, and a unique key on a
  // prefix of a case-insensitive column — each ezone spelling the same values differently.
  const KEYED = "CREATE TABLE t (k BIGINT UNSIGNED NOT NULL, s VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL, u VARCHAR(40) COLLATE utf8mb4_general_ci NOT NULL, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), PRIMARY KEY (k, s), UNIQUE KEY uk_u (u(8)))";
  const keyed = { ddl: KEYED, columns: 'k, s, u, v, updated_at' };
  const BIG = '18446744073709551610';

  it("composite BIGINT/_ci keys, a prefix unique key: c's newer claimant, unknown to a and spelled otherwise, is removed; c ends as a", async () => {
    const { report, c } = await run('bootstrap_unique_keyed_older', `(${BIG}, 'Ab', 'Prefix-x-tail-a', 'a-old', '2026-01-01'), (1, 'y', 'same', 'same', '2026-01-01')`, `(${BIG}, 'zz', 'PREFIX-X-other', 'c-new', '2026-06-01'), (1, 'Y', 'same', 'same', '2026-01-01')`, keyed);
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(await contents(c, 't')).toContain('a-old');
    expect(await contents(c, 't')).not.toContain('c-new');
    const [n] = await c.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM t');
    expect(Number(n[0]!.n)).toBe(2);
  }, 180_000);

  it("composite BIGINT/_ci keys: c's rival sits at a key a holds spelled otherwise, with a newer image there — a's image is copied first; c ends as a", async () => {
    const { report, c } = await run('bootstrap_unique_keyed_shared', `(${BIG}, 'ab', 'x-value-1', 'a-old', '2026-01-01'), (7, 'KEY', 'z-value-1', 'a-new', '2026-03-01')`, `(7, 'key', 'X-VALUE-2', 'c-mid', '2026-02-01')`, keyed);
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(await contents(c, 't')).toContain('a-old');
    expect(await contents(c, 't')).toContain('a-new');
    expect(await contents(c, 't')).not.toContain('c-mid');
  }, 180_000);
});
