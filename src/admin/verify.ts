/**
 * `drc verify`: compare every replicated table across all ezones in primary-key chunks, narrow
 * differing chunks to the differing keys, re-check those after replication had time to catch up (rows
 * in flight are not differences), and optionally repair them by re-applying the last-writer-wins
 * winner through the normal apply path (marker first, so the repair is not shipped again).
 *
 * It never locks tables: plain reads of bounded chunks, with a pause between chunks.
 */
import type { Config } from '../config/schema.js';
import { versionColumnOf } from '../config/tables.js';
import { createPool } from '../db/connect.js';
import type { Row } from '../model/value.js';
import { versionOf } from '../model/version.js';
import type { Logger } from '../ops/logger.js';
import { UnreachableError } from '../errors.js';
import { unreachableMessage } from './unreachable.js';
import { compareTables, keyRow, sleep, stillDifferent, type HexKey, type Pools } from './verify-chunks.js';
import { formatTableName, type TableName } from './verify-names.js';
import { repair, type RepairApplierFactory, type Repaired } from './verify-repair.js';
import { describeTable, replicatedTables, type VerifyTable } from './verify-tables.js';

export type { RepairApplierFactory } from './verify-repair.js';

export interface VerifyOptions {
  /** Tables to compare (verify-names.ts parses `--tables`); default: every replicated table of the first ezone. */
  tables?: TableName[];
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
  /** `schema.table` as `--tables` reads it (a part with a dot, comma or backtick in backticks). */
  table: string;
  /** The primary key as DRC's wire form (what repairs and tombstones use). */
  key: Row;
  /** The primary key exactly: per column, the HEX of its bytes (strings) or of its exact text (others). */
  keyHex: Record<string, string>;
  /** Every ezone's view of the key: whether the row exists and its version. */
  ezones: { ezone: string; present: boolean; version: string | null }[];
  /** Set by --repair: the ezone whose row (or delete) won, and the ezones changed. */
  repaired?: Repaired;
}

/** A table whose columns differ between ezones: not compared row by row, and not repaired. */
export interface SchemaDifference {
  table: string;
  ezone: string;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  tables: { table: string; rows: number; chunks: number }[];
  differences: Difference[];
  /** Present when some table's columns differ between ezones (then `ok` is false). */
  schemaDifferences?: SchemaDifference[];
  /**
   * Present when a table could not be compared (missing, or no primary key, in the first ezone);
   * `ok` is false when such a table was named in `tables`.
   */
  skipped?: { table: string; reason: string }[];
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
  const first = pools.values().next().value!;
  const tables: VerifyTable[] = [];
  const report: VerifyReport = { ok: true, tables: [], differences: [] };
  const schemaDifferences: SchemaDifference[] = [];
  const skipped: { table: string; reason: string }[] = [];
  for (const name of options.tables ?? (await replicatedTables(first, config))) {
    const described = await describeTable(pools, name);
    if (!('kind' in described)) tables.push(described);
    else if (described.kind === 'schema') schemaDifferences.push({ table: formatTableName(name), ezone: described.ezone, detail: described.detail });
    else {
      log.warn({ table: formatTableName(name), reason: described.reason }, 'skipped: not compared');
      skipped.push({ table: formatTableName(name), reason: described.reason });
    }
  }
  const compared = await compareTables(pools, tables, { chunkSize: options.chunkSize, pauseMs: options.pauseMs, concurrency: options.concurrency ?? 2 });
  for (const [i, t] of tables.entries()) {
    const { rows, chunks, suspects } = compared[i]!;
    let keys = suspects;
    for (let r = 0; r < options.rechecks && keys.length > 0; r++) {
      await sleep(options.recheckDelayMs);
      keys = await stillDifferent(pools, t, keys);
    }
    const diffs = await describe(pools, config, t, keys);
    if (options.repair) for (const [j, d] of diffs.entries()) d.repaired = await repair(pools, config, t, keys[j]!, d.key, repairer);
    report.tables.push({ table: formatTableName(t), rows, chunks });
    report.differences.push(...diffs);
  }
  if (schemaDifferences.length > 0) report.schemaDifferences = schemaDifferences;
  if (skipped.length > 0) report.skipped = skipped;
  // A table asked for by name and not compared is a failure; one found by discovery (no primary key) is listed.
  const missed = options.tables !== undefined && skipped.length > 0;
  report.ok = !missed && schemaDifferences.length === 0 && report.differences.every((d) => d.repaired !== undefined && d.repaired.stillDifferent === undefined) && (options.repair || report.differences.length === 0);
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

const pkOf = (t: VerifyTable, row: Row): Row => Object.fromEntries(t.pk.map((c) => [c.name, row[c.name] ?? null]));

async function describe(pools: Pools, config: Config, t: VerifyTable, keys: HexKey[]): Promise<Difference[]> {
  const vc = versionColumnOf(config, t.schema, t.table);
  const diffs: Difference[] = [];
  for (const hex of keys) {
    const ezones = [];
    let key: Row | undefined;
    for (const [ezone, pool] of pools) {
      const row = await keyRow(pool, t, hex, t.columns);
      key ??= row ? pkOf(t, row) : undefined;
      ezones.push({ ezone, present: row !== null, version: row && vc ? (versionOf(row[vc]) ?? null) : null });
    }
    if (!key) continue; // deleted everywhere since the last re-check: the ezones agree now
    const keyHex = Object.fromEntries(t.pk.map((c, i) => [c.name, hex[i]!]));
    diffs.push({ table: formatTableName(t), key, keyHex, ezones });
  }
  return diffs;
}

