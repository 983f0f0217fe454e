/**
 * `drc verify`: compare every replicated table across all ezones in primary-key chunks, narrow
 * differing chunks to the differing keys, re-check those after replication had time to catch up (rows
 * in flight are not differences), and optionally repair them by re-applying the last-writer-wins
 * winner through the normal apply path (marker first, so the repair is not shipped again).
 *
 * It never locks tables: plain reads of bounded chunks, with a pause between chunks.
 */
import type mysql from 'mysql2/promise';
import { TableFilter } from '../config/table-filter.js';
import type { Config } from '../config/schema.js';
import { versionColumnOf } from '../config/tables.js';
import { createPool } from '../db/connect.js';
import { primaryKeyOf } from '../db/table-keys.js';
import { type Row } from '../model/value.js';
import { versionOf } from '../model/version.js';
import type { Logger } from '../ops/logger.js';
import { UnreachableError } from '../errors.js';
import { unreachableMessage } from './unreachable.js';
import { compareTables, keyRows, sleep, stillDifferent, type Pools, type TableToCompare } from './verify-chunks.js';
import { findTombstones } from '../db/tombstones.js';
import type { RepairApplier } from '../model/ports.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { compareImages } from '../model/types/order.js';
import { compareVersions } from '../model/version.js';

/** How `--repair` writes into one ezone: the apply path's single-change entry point, handed in by cli/. */
export type RepairApplierFactory = (ezone: string, pool: mysql.Pool) => Promise<RepairApplier>;

export interface VerifyOptions {
  /** `schema.table` list; default: every replicated table of the first ezone. */
  tables?: string[];
  /** Ezones to compare; default: all. */
  ezones?: string[];
  chunkSize: number;
  /** Pause after each chunk, per concurrent comparison (ms): spares production servers. */
  pauseMs: number;
  /** Chunk comparisons running at once, across tables (default 2). */
  concurrency?: number;
  /** How long to let replication catch up before re-checking differing keys, and how often. */
  recheckDelayMs: number;
  rechecks: number;
  repair: boolean;
}

export interface Difference {
  table: string;
  key: Row;
  /** Every ezone's view of the key: whether the row exists and its version. */
  ezones: { ezone: string; present: boolean; version: string | null }[];
  /** Set by --repair: the ezone whose row (or delete) won, and the ezones changed. */
  repaired?: { winner: string; deleted: boolean; changed: string[] };
}

export interface VerifyReport {
  ok: boolean;
  tables: { table: string; rows: number; chunks: number }[];
  differences: Difference[];
}

/**
 * Compare, re-check, describe and (with `repair`) fix. Throws UnreachableError naming the ezone when a
 * database cannot be reached: "could not look" is never reported as "differences found".
 */
export async function verify(config: Config, options: VerifyOptions, log: Logger, repairer: RepairApplierFactory): Promise<VerifyReport> {
  const names = options.ezones ?? Object.keys(config.ezones);
  const pools: Pools = new Map(names.map((n) => [n, createPool(config.ezones[n]!.mysql, 2, { multipleStatements: true, apply: true })]));
  try {
    await probe(config, pools);
    return await compareAll(config, pools, options, log, repairer);
  } catch (err) {
    // A server that went away mid-run: name it (probe throws UnreachableError); anything else as it was.
    if (!(err instanceof UnreachableError)) await probe(config, pools);
    throw err;
  } finally {
    await Promise.all([...pools.values()].map((p) => p.end()));
  }
}

/** Every table: chunk comparisons (p-queue), re-checks of what differed, descriptions and repairs. */
async function compareAll(config: Config, pools: Pools, options: VerifyOptions, log: Logger, repairer: RepairApplierFactory): Promise<VerifyReport> {
  const names = [...pools.keys()];
  const first = pools.get(names[0]!)!;
  const tables: TableToCompare[] = [];
  for (const table of options.tables ?? (await replicatedTables(first, config))) {
    const [schema, name] = table.split('.') as [string, string];
    const pk = await primaryKeyOf(first, schema, name);
    if (pk.length === 0) log.warn({ table }, 'skipped: no such table or no primary key in the first ezone');
    else tables.push({ schema, table: name, pk });
  }
  const compared = await compareTables(pools, tables, { chunkSize: options.chunkSize, pauseMs: options.pauseMs, concurrency: options.concurrency ?? 2 });
  const report: VerifyReport = { ok: true, tables: [], differences: [] };
  for (const [i, { schema, table: name, pk }] of tables.entries()) {
    const { rows, chunks, suspects } = compared[i]!;
    let keys = suspects;
    for (let r = 0; r < options.rechecks && keys.length > 0; r++) {
      await sleep(options.recheckDelayMs);
      keys = await stillDifferent(pools, schema, name, pk, keys);
    }
    const diffs = await describe(pools, config, schema, name, pk, keys);
    if (options.repair) for (const d of diffs) d.repaired = await repair(pools, config, schema, name, d, repairer);
    report.tables.push({ table: `${schema}.${name}`, rows, chunks });
    report.differences.push(...diffs);
  }
  report.ok = report.differences.every((d) => d.repaired !== undefined) && (options.repair || report.differences.length === 0);
  return report;
}

/** One round trip to every ezone first, so an unreachable one is named before any work starts. */
async function probe(config: Config, pools: Pools): Promise<void> {
  const results = await Promise.allSettled([...pools].map(async ([ezone, pool]) => pool.query('SELECT 1').then(() => ezone)));
  const failures = [...pools.keys()].flatMap((ezone, i) => {
    const r = results[i]!;
    return r.status === 'rejected' ? [unreachableMessage(ezone, config.ezones[ezone]!.mysql, r.reason)] : [];
  });
  if (failures.length > 0) throw new UnreachableError(failures.join('; '));
}

async function replicatedTables(pool: mysql.Pool, config: Config): Promise<string[]> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES
     WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys', 'drc_meta')
     ORDER BY TABLE_SCHEMA, TABLE_NAME`,
  );
  const filter = new TableFilter(config);
  return rows.filter((r) => filter.roleOf(String(r.s), String(r.t)).kind === 'replicated').map((r) => `${r.s}.${r.t}`);
}

async function describe(pools: Pools, config: Config, schema: string, table: string, pk: string[], keys: Row[]): Promise<Difference[]> {
  const vc = versionColumnOf(config, schema, table);
  const diffs: Difference[] = [];
  for (const key of keys) {
    const ezones = [];
    for (const [ezone, pool] of pools) {
      const row = await keyRows(pool, schema, table, pk, key);
      ezones.push({ ezone, present: row !== null, version: row && vc ? (versionOf(row[vc]) ?? null) : null });
    }
    diffs.push({ table: `${schema}.${table}`, key, ezones });
  }
  return diffs;
}

/**
 * The winner is the newest image (version, then content) among the ezones, unless a tombstone in any
 * ezone is at least as new: then the row is deleted everywhere. Applied to every ezone that disagrees.
 */
async function repair(pools: Pools, config: Config, schema: string, table: string, d: Difference, repairer: RepairApplierFactory): Promise<Difference['repaired']> {
  const vc = versionColumnOf(config, schema, table);
  const pk = Object.keys(d.key);
  const views = new Map<string, Row | null>();
  for (const [ezone, pool] of pools) views.set(ezone, await keyRows(pool, schema, table, pk, d.key));
  let winner: { ezone: string; row: Row } | undefined;
  for (const [ezone, row] of views) {
    if (!row) continue;
    const v = vc ? versionOf(row[vc]) : undefined;
    if (!winner || compareImages(v, row, vc ? versionOf(winner.row[vc]) : undefined, winner.row) > 0) winner = { ezone, row };
  }
  let newestDelete: { ezone: string; version: string } | undefined;
  for (const [ezone, pool] of pools) {
    const conn = await pool.getConnection();
    try {
      const t = (await findTombstones(conn, schema, table, [d.key])).get(canonicalKey(d.key));
      if (t && (!newestDelete || compareVersions(t.version, newestDelete.version) > 0)) newestDelete = { ezone, version: t.version };
    } finally {
      conn.release();
    }
  }
  const winnerVersion = winner && vc ? versionOf(winner.row[vc]) : undefined;
  const deleted = !winner || (newestDelete !== undefined && compareVersions(newestDelete.version, winnerVersion ?? null) >= 0);
  const changed: string[] = [];
  for (const [ezone, pool] of pools) {
    const local = views.get(ezone) ?? null;
    if (deleted ? local === null : local !== null && canonicalKey(local) === canonicalKey(winner!.row)) continue;
    const applier = await repairer(ezone, pool);
    const change = deleted
      ? { schema, table, op: 'delete' as const, key: d.key, before: local ?? d.key, version: newestDelete?.version ?? winnerVersion ?? '0' }
      : { schema, table, op: 'insert' as const, key: d.key, after: winner!.row, ...(winnerVersion !== undefined ? { version: winnerVersion } : {}) };
    await applier.apply(change, deleted ? (newestDelete?.ezone ?? ezone) : winner!.ezone, {
      origin: deleted ? (newestDelete?.ezone ?? '-') : winner!.ezone,
      incomingVersion: deleted ? (newestDelete?.version ?? null) : (winnerVersion ?? null),
      localVersion: local && vc ? (versionOf(local[vc]) ?? null) : null,
      incoming: deleted ? null : winner!.row,
      local,
    });
    changed.push(ezone);
  }
  return { winner: deleted ? (newestDelete?.ezone ?? '-') : winner!.ezone, deleted, changed };
}

