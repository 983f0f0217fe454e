/**
 * The `drc bootstrap` runs recorded in this ezone's drc_meta.bootstrap that are not verified yet: read
 * by `drc lag` and by the daemon's /metrics (where a copy into this ezone stands).
 */
import type mysql from 'mysql2/promise';
import { isNoSuchTable } from './mysql-errors.js';
import type { Queryable } from './table-keys.js';

export interface BootstrapRow {
  schema: string;
  table: string;
  /** The ezone copied from. */
  source: string;
  /** copying | copied | failed (verified runs are left out). */
  status: string;
  rowsCopied: number;
  rowsEstimate: number | null;
  chunks: number;
  /** When its state last moved (UTC text). */
  updatedAt: string;
}

/** None when drc_meta.bootstrap does not exist (no bootstrap ever ran into this ezone). */
export async function unverifiedBootstraps(db: Queryable): Promise<BootstrapRow[]> {
  const [exists] = (await db.query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'drc_meta' AND TABLE_NAME = 'bootstrap'")) as [mysql.RowDataPacket[], unknown];
  if (exists.length === 0) return [];
  const [rows] = (await db.query(
    "SELECT schema_name, table_name, source, status, rows_copied, rows_estimate, chunks, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS updated_at FROM drc_meta.bootstrap WHERE status <> 'verified' ORDER BY schema_name, table_name",
  )) as [mysql.RowDataPacket[], unknown];
  return rows.map((r) => ({
    schema: String(r.schema_name),
    table: String(r.table_name),
    source: String(r.source),
    status: String(r.status),
    rowsCopied: Number(r.rows_copied),
    rowsEstimate: r.rows_estimate === null ? null : Number(r.rows_estimate),
    chunks: Number(r.chunks),
    updatedAt: String(r.updated_at),
  }));
}

/** The named lock a `drc bootstrap` into `ezone` holds on that ezone's server for its whole run (one at a time). */
export const bootstrapLockName = (ezone: string): string => `drc_bootstrap:${ezone}`;

/**
 * Whether a `drc bootstrap` into `ezone` is copying one of `tables` now: its lock is held AND one of
 * them is recorded `copying` (recordFresh writes every table of the run before its first row). Both:
 * the lock alone covers tables the run never copies (every table for the whole run), and a `copying`
 * row alone may be a run abandoned for good — either would park a child that should retry.
 */
export async function bootstrapCopying(db: Queryable, ezone: string, tables: { schema: string; table: string }[]): Promise<boolean> {
  if (tables.length === 0) return false;
  const [rows] = (await db.query('SELECT IS_USED_LOCK(?) IS NOT NULL AS running', [bootstrapLockName(ezone)])) as [mysql.RowDataPacket[], unknown];
  if (Number(rows[0]?.running) !== 1) return false;
  try {
    const [copying] = (await db.query(
      `SELECT 1 FROM drc_meta.bootstrap WHERE status = 'copying' AND (${tables.map(() => '(schema_name = ? AND table_name = ?)').join(' OR ')}) LIMIT 1`,
      tables.flatMap((t) => [t.schema, t.table]),
    )) as [mysql.RowDataPacket[], unknown];
    return copying.length > 0;
  } catch (err) {
    if (isNoSuchTable(err)) return false; // no drc_meta.bootstrap: never bootstrapped
    throw err;
  }
}
