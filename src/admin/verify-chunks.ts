/**
 * The reading half of `drc verify`: cut each table into primary-key chunks on the first ezone, fetch
 * the same ranges everywhere, compare digests, and narrow differing chunks to the differing keys.
 * Chunk comparisons of every table share one p-queue, so at most `concurrency` run at a time (each
 * reads one chunk from every ezone) and each worker pauses `pauseMs` after a chunk: the load on
 * production servers stays bounded whatever the number of tables.
 */
import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import PQueue from 'p-queue';
import { quoteId, tableRef } from '../db/sql.js';
import { canonicalRow, fromWire, toWireRow, type Row } from '../model/value.js';

/** One pool per ezone compared, in the order given (the first one cuts the chunks). */
export type Pools = Map<string, mysql.Pool>;

export interface ChunkOptions {
  chunkSize: number;
  /** Pause after each chunk, per worker (ms). */
  pauseMs: number;
  /** Chunk comparisons running at once, across tables. */
  concurrency: number;
}

/** One table to compare: its name and primary key. */
export interface TableToCompare {
  schema: string;
  table: string;
  pk: string[];
}

export interface TableComparison {
  rows: number;
  chunks: number;
  /** Keys whose rows differ somewhere, in primary-key order. */
  suspects: Row[];
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

async function compareTable(pools: Pools, t: TableToCompare, options: ChunkOptions, queue: PQueue): Promise<TableComparison> {
  const first = pools.values().next().value!;
  const cols = t.pk.map(quoteId).join(', ');
  const jobs: Promise<Row[]>[] = [];
  let rows = 0;
  let lo: Row | undefined;
  for (;;) {
    // Bounds are cheap (one key) and sequential; the comparisons behind them run in the queue.
    await queue.onSizeLessThan(queue.concurrency);
    const [bounds] = await first.query<mysql.RowDataPacket[]>(
      `SELECT ${cols} FROM ${tableRef(t.schema, t.table)} ${lo ? `WHERE (${cols}) > (${t.pk.map(() => '?').join(', ')})` : ''} ORDER BY ${cols} LIMIT ?, 1`,
      [...(lo ? t.pk.map((c) => fromWire(lo![c] ?? null)) : []), options.chunkSize - 1],
    );
    const hi = bounds[0] ? toWireRow(bounds[0]) : undefined; // undefined: the last, open-ended chunk
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
async function compareChunk(pools: Pools, t: TableToCompare, lo: Row | undefined, hi: Row | undefined): Promise<{ count: number; suspects: Row[] }> {
  const images = await Promise.all([...pools.values()].map((p) => rangeRows(p, t, lo, hi)));
  const digests = images.map((m) => digest(m));
  const suspects: Row[] = [];
  if (digests.some((d) => d !== digests[0])) {
    const keys = new Set(images.flatMap((m) => [...m.keys()]));
    for (const k of keys) {
      const versions = images.map((m) => m.get(k)?.canon ?? null);
      if (versions.some((v) => v !== versions[0])) suspects.push(JSON.parse(k) as Row);
    }
  }
  return { count: images[0]?.size ?? 0, suspects };
}

/** Rows with lo < pk <= hi, keyed by canonical primary key. */
async function rangeRows(pool: mysql.Pool, t: TableToCompare, lo: Row | undefined, hi: Row | undefined): Promise<Map<string, { row: Row; canon: string }>> {
  const { pk } = t;
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
  const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT * FROM ${tableRef(t.schema, t.table)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${cols}`, params);
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

/** The row with this primary key, or null. */
export async function keyRows(pool: mysql.Pool, schema: string, table: string, pk: string[], key: Row): Promise<Row | null> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT * FROM ${tableRef(schema, table)} WHERE ${pk.map((c) => `${quoteId(c)} = ?`).join(' AND ')}`,
    pk.map((c) => fromWire(key[c] ?? null)),
  );
  return rows[0] ? toWireRow(rows[0]) : null;
}

/** The keys among `keys` whose rows still differ between the ezones. */
export async function stillDifferent(pools: Pools, schema: string, table: string, pk: string[], keys: Row[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const key of keys) {
    const views = await Promise.all([...pools.values()].map((p) => keyRows(p, schema, table, pk, key)));
    const canon = views.map((v) => (v ? canonicalRow(v) : null));
    if (canon.some((c) => c !== canon[0])) out.push(key);
  }
  return out;
}

function pick(row: Row, cols: string[]): Row {
  const out: Row = {};
  for (const c of cols) out[c] = row[c] ?? null;
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
