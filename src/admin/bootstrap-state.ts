/**
 * Where a `drc bootstrap` run stands, per table, in the target ezone's `drc_meta.bootstrap`: what
 * `--resume` continues from after a crash or SIGKILL, and what an operator reads while it runs.
 *
 * Chunks are written concurrently and may complete out of order, so the resume point is a low-water
 * mark (Maxwell's InflightMessageList): the last key of the longest run of completed chunks from the
 * table's start. Chunks completed beyond it are copied again on resume — harmless, a copy is idempotent.
 */
import type mysql from 'mysql2/promise';
import { unverifiedBootstraps } from '../db/bootstrap-progress.js';
import type { Queryable } from '../db/table-keys.js';
import type { HexKey } from './verify-chunks.js';
import { formatTableName, type TableName } from './verify-names.js';

export type BootstrapStatus = 'copying' | 'copied' | 'verified' | 'failed';

export interface TableState extends TableName {
  source: string;
  status: BootstrapStatus;
  /** Every chunk up to this key (inclusive) is written; undefined: none yet. */
  doneThrough: HexKey | undefined;
  rowsCopied: number;
  rowsSkipped: number;
  chunks: number;
  createdTable: boolean;
  startPositions: Record<string, string>;
}

/** The recorded state of these tables in the target (absent: never bootstrapped). */
export async function readStates(pool: mysql.Pool, tables: TableName[]): Promise<Map<string, TableState>> {
  const out = new Map<string, TableState>();
  if (tables.length === 0) return out;
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT schema_name, table_name, source, status, done_through, rows_copied, rows_skipped, chunks, created_table, start_positions
     FROM drc_meta.bootstrap WHERE ${tables.map(() => '(schema_name = ? AND table_name = ?)').join(' OR ')}`,
    tables.flatMap((t) => [t.schema, t.table]),
  );
  for (const r of rows) {
    const state: TableState = {
      schema: String(r.schema_name),
      table: String(r.table_name),
      source: String(r.source),
      status: String(r.status) as BootstrapStatus,
      doneThrough: r.done_through === null ? undefined : (JSON.parse(String(r.done_through)) as HexKey),
      rowsCopied: Number(r.rows_copied),
      rowsSkipped: Number(r.rows_skipped),
      chunks: Number(r.chunks),
      createdTable: Number(r.created_table) === 1,
      startPositions: JSON.parse(String(r.start_positions)) as Record<string, string>,
    };
    out.set(stateKey(state), state);
  }
  return out;
}

export const stateKey = (t: TableName): string => JSON.stringify([t.schema, t.table]);

/** Record (insert or replace) a table's state. */
export async function writeState(pool: mysql.Pool, s: TableState, estimate: number | null): Promise<void> {
  await pool.query(
    `INSERT INTO drc_meta.bootstrap (schema_name, table_name, source, status, done_through, rows_copied, rows_skipped, rows_estimate, chunks, start_positions, created_table, started_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
     ON DUPLICATE KEY UPDATE source = VALUES(source), status = VALUES(status), done_through = VALUES(done_through), rows_copied = VALUES(rows_copied),
       rows_skipped = VALUES(rows_skipped), rows_estimate = IFNULL(VALUES(rows_estimate), rows_estimate), chunks = VALUES(chunks),
       start_positions = VALUES(start_positions), created_table = VALUES(created_table), updated_at = VALUES(updated_at)`,
    [s.schema, s.table, s.source, s.status, s.doneThrough ? JSON.stringify(s.doneThrough) : null, s.rowsCopied, s.rowsSkipped, estimate, s.chunks, JSON.stringify(s.startPositions), s.createdTable ? 1 : 0],
  );
}

/** A fresh run of a table starts over: its old row goes. */
export async function forgetStates(pool: mysql.Pool, tables: TableName[]): Promise<void> {
  if (tables.length === 0) return;
  await pool.query(`DELETE FROM drc_meta.bootstrap WHERE ${tables.map(() => '(schema_name = ? AND table_name = ?)').join(' OR ')}`, tables.flatMap((t) => [t.schema, t.table]));
}

/**
 * The low-water mark of chunks completing out of order: chunk `seq` (0, 1, 2 … in key order) ends at
 * `lastKey` with `rows` rows; `advance` returns the new mark when the run of completed chunks from the
 * start grew, else undefined. Pure.
 */
export class LowWaterMark {
  private next = 0;
  private readonly done = new Map<number, { lastKey: HexKey; written: number; skipped: number }>();
  written = 0;
  skipped = 0;
  chunks = 0;
  through: HexKey | undefined;

  constructor(start?: { through: HexKey | undefined; written: number; skipped: number; chunks: number }) {
    if (start) {
      this.through = start.through;
      this.written = start.written;
      this.skipped = start.skipped;
      this.chunks = start.chunks;
    }
  }

  complete(seq: number, lastKey: HexKey, written: number, skipped: number): boolean {
    this.done.set(seq, { lastKey, written, skipped });
    let moved = false;
    for (let c = this.done.get(this.next); c; c = this.done.get(this.next)) {
      this.done.delete(this.next);
      this.next++;
      this.through = c.lastKey;
      this.written += c.written;
      this.skipped += c.skipped;
      this.chunks++;
      moved = true;
    }
    return moved;
  }
}

/** A bootstrap in progress (or failed) as `drc lag` shows it. */
export interface BootstrapProgress {
  ezone: string;
  table: string;
  from: string;
  status: BootstrapStatus;
  rowsCopied: number;
  rowsEstimate: number | null;
  chunks: number;
  /** When its state last moved (UTC). */
  updatedAt: string;
}

/** The bootstraps into this ezone that are not verified yet (none when drc_meta.bootstrap does not exist). */
export async function unfinishedBootstraps(conn: Queryable, ezone: string): Promise<BootstrapProgress[]> {
  return (await unverifiedBootstraps(conn)).map((r) => ({
    ezone,
    table: formatTableName(r),
    from: r.source,
    status: r.status as BootstrapStatus,
    rowsCopied: r.rowsCopied,
    rowsEstimate: r.rowsEstimate,
    chunks: r.chunks,
    updatedAt: r.updatedAt,
  }));
}
