/**
 * `drc verify`: compare every replicated table across all ezones in primary-key chunks, narrow
 * differing chunks to the differing keys, re-check those after replication had time to catch up (rows
 * in flight are not differences), and optionally repair them by re-applying the last-writer-wins
 * winner through the normal apply path (marker first, so the repair is not shipped again).
 *
 * It never locks tables: plain reads of bounded chunks, with a pause between chunks.
 */
import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { compareImages } from '../apply/resolver.js';
import { TableCache } from '../apply/table-cache.js';
import { SingleChangeApplier } from '../apply/repair-applier.js';
import { TableFilter } from '../capture/table-filter.js';
import type { Config } from '../config/schema.js';
import { versionColumnOf } from '../config/tables.js';
import { createPool, detectFlavor } from '../db/connect.js';
import { quoteId, tableRef } from '../db/sql.js';
import { findTombstones } from '../db/tombstones.js';
import type { RepairApplier } from '../model/ports.js';
import { canonicalRow, fromWire, toWireRow, type Row } from '../model/value.js';
import { compareVersions, versionOf } from '../model/version.js';
import type { Logger } from './logger.js';

export interface VerifyOptions {
  /** `schema.table` list; default: every replicated table of the first ezone. */
  tables?: string[];
  /** Ezones to compare; default: all. */
  ezones?: string[];
  chunkSize: number;
  pauseMs: number;
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

type Pools = Map<string, mysql.Pool>;

export async function verify(config: Config, options: VerifyOptions, log: Logger): Promise<VerifyReport> {
  const names = options.ezones ?? Object.keys(config.ezones);
  const pools: Pools = new Map(names.map((n) => [n, createPool(config.ezones[n]!.mysql, 2, { multipleStatements: true })]));
  try {
    const first = pools.get(names[0]!)!;
    const tables = options.tables ?? (await replicatedTables(first, config));
    const report: VerifyReport = { ok: true, tables: [], differences: [] };
    for (const table of tables) {
      const [schema, name] = table.split('.') as [string, string];
      const pk = (await new TableCache(first).get(schema, name))?.primaryKey ?? [];
      if (pk.length === 0) {
        log.warn({ table }, 'skipped: no such table or no primary key in the first ezone');
        continue;
      }
      const { rows, chunks, suspects } = await compareTable(pools, schema, name, pk, options);
      let keys = suspects;
      for (let i = 0; i < options.rechecks && keys.length > 0; i++) {
        await sleep(options.recheckDelayMs);
        keys = await stillDifferent(pools, schema, name, pk, keys);
      }
      const diffs = await describe(pools, config, schema, name, pk, keys);
      if (options.repair) for (const d of diffs) d.repaired = await repair(pools, config, schema, name, d, log);
      report.tables.push({ table, rows, chunks });
      report.differences.push(...diffs);
    }
    report.ok = report.differences.every((d) => d.repaired !== undefined) && (options.repair || report.differences.length === 0);
    return report;
  } finally {
    await Promise.all([...pools.values()].map((p) => p.end()));
  }
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

/** Chunk by primary key on the first ezone; fetch the same ranges everywhere; collect differing keys. */
async function compareTable(pools: Pools, schema: string, table: string, pk: string[], options: VerifyOptions): Promise<{ rows: number; chunks: number; suspects: Row[] }> {
  const names = [...pools.keys()];
  const first = pools.get(names[0]!)!;
  const cols = pk.map(quoteId).join(', ');
  const suspects: Row[] = [];
  let lo: Row | undefined;
  let rows = 0;
  let chunks = 0;
  for (;;) {
    const [bounds] = await first.query<mysql.RowDataPacket[]>(
      `SELECT ${cols} FROM ${tableRef(schema, table)} ${lo ? `WHERE (${cols}) > (${pk.map(() => '?').join(', ')})` : ''} ORDER BY ${cols} LIMIT ?, 1`,
      [...(lo ? pk.map((c) => fromWire(lo![c] ?? null)) : []), options.chunkSize - 1],
    );
    const hi = bounds[0] ? toWireRow(bounds[0]) : undefined; // undefined: the last, open-ended chunk
    const images = await Promise.all(names.map((n) => rangeRows(pools.get(n)!, schema, table, pk, lo, hi)));
    const digests = images.map((m) => digest(m));
    rows += images[0]?.size ?? 0;
    chunks++;
    if (digests.some((d) => d !== digests[0])) {
      const keys = new Set(images.flatMap((m) => [...m.keys()]));
      for (const k of keys) {
        const versions = images.map((m) => m.get(k)?.canon ?? null);
        if (versions.some((v) => v !== versions[0])) suspects.push(JSON.parse(k) as Row);
      }
    }
    if (!hi) break;
    lo = hi;
    if (options.pauseMs > 0) await sleep(options.pauseMs);
  }
  return { rows, chunks, suspects };
}

/** Rows with lo < pk <= hi, keyed by canonical primary key. */
async function rangeRows(pool: mysql.Pool, schema: string, table: string, pk: string[], lo: Row | undefined, hi: Row | undefined): Promise<Map<string, { row: Row; canon: string }>> {
  const cols = pk.map(quoteId).join(', ');
  const tuple = `(${pk.map(() => '?').join(', ')})`;
  const where: string[] = [];
  const params: unknown[] = [];
  if (lo) {
    where.push(`(${cols}) > ${tuple}`);
    params.push(...pk.map((c) => fromWire(lo[c] ?? null)));
  }
  if (hi) {
    where.push(`(${cols}) <= ${tuple}`);
    params.push(...pk.map((c) => fromWire(hi[c] ?? null)));
  }
  const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT * FROM ${tableRef(schema, table)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${cols}`, params);
  const out = new Map<string, { row: Row; canon: string }>();
  for (const r of rows) {
    const row = toWireRow(r);
    out.set(JSON.stringify(pick(row, pk)), { row, canon: canonicalRow(row) });
  }
  return out;
}

function digest(rows: Map<string, { canon: string }>): string {
  const h = createHash('sha256');
  for (const { canon } of rows.values()) h.update(canon).update('\n');
  return h.digest('hex');
}

async function keyRows(pool: mysql.Pool, schema: string, table: string, pk: string[], key: Row): Promise<Row | null> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT * FROM ${tableRef(schema, table)} WHERE ${pk.map((c) => `${quoteId(c)} = ?`).join(' AND ')}`,
    pk.map((c) => fromWire(key[c] ?? null)),
  );
  return rows[0] ? toWireRow(rows[0]) : null;
}

async function stillDifferent(pools: Pools, schema: string, table: string, pk: string[], keys: Row[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const key of keys) {
    const views = await Promise.all([...pools.values()].map((p) => keyRows(p, schema, table, pk, key)));
    const canon = views.map((v) => (v ? canonicalRow(v) : null));
    if (canon.some((c) => c !== canon[0])) out.push(key);
  }
  return out;
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
async function repair(pools: Pools, config: Config, schema: string, table: string, d: Difference, log: Logger): Promise<Difference['repaired']> {
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
      const t = (await findTombstones(conn, schema, table, [d.key])).get(canonicalRow(d.key));
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
    if (deleted ? local === null : local !== null && canonicalRow(local) === canonicalRow(winner!.row)) continue;
    const applier: RepairApplier = new SingleChangeApplier({ ezone, pool, flavor: await detectFlavor(pool), config, log });
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

function pick(row: Row, cols: string[]): Row {
  const out: Row = {};
  for (const c of cols) out[c] = row[c] ?? null;
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
