/**
 * The reading half of `drc verify`: cut each table into primary-key chunks on the first ezone, fetch
 * the same ranges everywhere as (key, server-computed row digest) pairs, compare, and narrow differing
 * chunks to the differing keys. What is compared is computed by the server (verify-sql.ts), so no
 * value passes through the driver's decoding on the way to the comparison.
 *
 * Chunk comparisons of every table share one p-queue, so at most `concurrency` run at a time (each
 * reads one chunk from every ezone) and each worker pauses `pauseMs` after a chunk: the load on
 * production servers stays bounded whatever the number of tables.
 */
import type mysql from 'mysql2/promise';
import PQueue from 'p-queue';
import { quoteId, tableRef } from '../db/sql.js';
import { selectList, type ColumnTypes } from '../model/types/row.js';
import { toWireRow, type Row } from '../model/value.js';
import { keyCompare, keyRead, rowDigest, type VerifyColumn } from './verify-sql.js';

/** One pool per ezone compared, in the order given (the first one cuts the chunks). */
export type Pools = Map<string, mysql.Pool>;

/** A primary key as the HEX of each key column's exact text (verify-sql.ts keyRead), in key order. */
export type HexKey = string[];

export interface ChunkOptions {
  chunkSize: number;
  /** Pause after each chunk, per worker (ms). */
  pauseMs: number;
  /** Chunk comparisons running at once, across tables. */
  concurrency: number;
}

/** One table to compare: its name, primary key and every column compared. */
export interface TableToCompare {
  schema: string;
  table: string;
  pk: VerifyColumn[];
  /** Every column, INVISIBLE and generated ones included, in ordinal order. */
  columns: VerifyColumn[];
}

export interface TableComparison {
  rows: number;
  chunks: number;
  /** Keys whose rows differ somewhere, chunk by chunk in primary-key order. */
  suspects: HexKey[];
}

/** Rows as arrays: a column may be named like any alias DRC would pick. */
async function queryArrays(pool: mysql.Pool, sql: string, params: unknown[]): Promise<unknown[][]> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>({ sql, rowsAsArray: true }, params);
  return rows as unknown as unknown[][];
}

/** Compare every table; results in the order of `tables`. */
export async function compareTables(pools: Pools, tables: TableToCompare[], options: ChunkOptions): Promise<TableComparison[]> {
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency) });
  try {
    return await Promise.all(tables.map((t) => compareTable(pools, t, options, queue)));
  } catch (err) {
    queue.clear(); // the first failure ends the comparison: start nothing more
    throw err;
  }
}

const orderBy = (t: TableToCompare) => t.pk.map((c) => quoteId(c.name)).join(', ');
const keyColumns = (t: TableToCompare) => t.pk.map(keyRead).join(', ');
const hexKeyOf = (row: unknown[], n: number): HexKey => row.slice(0, n).map((v) => String(v));

async function compareTable(pools: Pools, t: TableToCompare, options: ChunkOptions, queue: PQueue): Promise<TableComparison> {
  const first = pools.values().next().value!;
  const jobs: Promise<HexKey[]>[] = [];
  let rows = 0;
  let lo: HexKey | undefined;
  for (;;) {
    // Bounds are cheap (one key) and sequential; the comparisons behind them run in the queue.
    await queue.onSizeLessThan(queue.concurrency);
    const bounds = await queryArrays(
      first,
      `SELECT ${keyColumns(t)} FROM ${tableRef(t.schema, t.table)} ${lo ? `WHERE ${keyCompare(t.pk, '>')}` : ''} ORDER BY ${orderBy(t)} LIMIT ?, 1`,
      [...(lo ?? []), options.chunkSize - 1],
    );
    const hi = bounds[0] ? hexKeyOf(bounds[0], t.pk.length) : undefined; // undefined: the last, open-ended chunk
    const range = { lo, hi };
    const job = queue.add(async () => {
      const { count, suspects } = await compareChunk(pools, t, range.lo, range.hi);
      rows += count;
      if (range.hi && options.pauseMs > 0) await sleep(options.pauseMs);
      return suspects;
    });
    job.catch(() => undefined); // awaited below; a failure while bounds are still read is not unhandled
    jobs.push(job);
    if (!hi) break;
    lo = hi;
  }
  const perChunk = await Promise.all(jobs);
  return { rows, chunks: jobs.length, suspects: perChunk.flat() };
}

/** One chunk from every ezone: the first ezone's row count, and the keys that differ. */
async function compareChunk(pools: Pools, t: TableToCompare, lo: HexKey | undefined, hi: HexKey | undefined): Promise<{ count: number; suspects: HexKey[] }> {
  const images = await Promise.all([...pools.values()].map((p) => rangeDigests(p, t, lo, hi)));
  const suspects: HexKey[] = [];
  const seen = new Set<string>();
  for (const image of images) {
    for (const [id, { key }] of image) {
      if (seen.has(id)) continue;
      seen.add(id);
      const digests = images.map((m) => m.get(id)?.digest ?? null);
      if (digests.some((d) => d !== digests[0])) suspects.push(key);
    }
  }
  return { count: images[0]?.size ?? 0, suspects };
}

/** Rows with lo < pk <= hi: key → server-computed digest, in primary-key order. */
async function rangeDigests(pool: mysql.Pool, t: TableToCompare, lo: HexKey | undefined, hi: HexKey | undefined): Promise<Map<string, { key: HexKey; digest: string }>> {
  const where: string[] = [];
  if (lo) where.push(keyCompare(t.pk, '>'));
  if (hi) where.push(keyCompare(t.pk, '<='));
  const rows = await queryArrays(
    pool,
    `SELECT ${keyColumns(t)}, ${rowDigest(t.columns)} FROM ${tableRef(t.schema, t.table)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${orderBy(t)}`,
    [...(lo ?? []), ...(hi ?? [])],
  );
  const out = new Map<string, { key: HexKey; digest: string }>();
  for (const r of rows) {
    const key = hexKeyOf(r, t.pk.length);
    out.set(key.join(','), { key, digest: String(r[t.pk.length]) });
  }
  return out;
}

/** The digest of the row with this key in one ezone, or null when there is none. */
export async function keyDigest(pool: mysql.Pool, t: TableToCompare, key: HexKey): Promise<string | null> {
  const rows = await queryArrays(pool, `SELECT ${rowDigest(t.columns)} FROM ${tableRef(t.schema, t.table)} WHERE ${keyCompare(t.pk, '=')}`, key);
  return rows[0] ? String(rows[0][0]) : null;
}

/**
 * The row with this key, `columns` only, as the apply path carries it (each column read exactly by its
 * type's readExpression and decoded by the registry: a FLOAT through its plain text keeps 6 digits),
 * for versions, the report's key and repairs; null when there is none.
 */
export async function keyRow(pool: mysql.Pool, t: TableToCompare & { types: ColumnTypes }, key: HexKey, columns: readonly VerifyColumn[]): Promise<Row | null> {
  const names = columns.map((c) => c.name);
  const rows = await queryArrays(pool, `SELECT ${selectList(names, t.types, quoteId)} FROM ${tableRef(t.schema, t.table)} WHERE ${keyCompare(t.pk, '=')}`, key);
  const r = rows[0];
  return r ? toWireRow(Object.fromEntries(names.map((n, i) => [n, r[i]])), t.types) : null;
}

/** The keys among `keys` whose rows still differ between the ezones. */
export async function stillDifferent(pools: Pools, t: TableToCompare, keys: HexKey[]): Promise<HexKey[]> {
  const out: HexKey[] = [];
  for (const key of keys) {
    const digests = await Promise.all([...pools.values()].map((p) => keyDigest(p, t, key)));
    if (digests.some((d) => d !== digests[0])) out.push(key);
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
