/**
 * Table-wide tombstones of TRUNCATE TABLE (issue 13; apply/truncate.ts): per table and origin, the
 * newest truncate's version. Every key of the table reads it as a tombstone of that origin, so an
 * insert or update from another origin that is not newer than the truncate is held back — in the
 * origin too, where capture records it (as it records local deletes), before coverage moves past it.
 */
import type mysql from 'mysql2/promise';
import type { Statement } from './sql.js';
import { isKeyedTombstoneRow, type TombstoneMark } from './tombstones.js';

/** Capture records local truncates in `truncates`; appliers record theirs in `applied_truncates`. */
export type TruncateTable = 'truncates' | 'applied_truncates';

/** Record a truncate of `schema.table` from `origin`; an existing one keeps the larger version. */
export function recordTruncateStatement(into: TruncateTable, schema: string, table: string, origin: string, version: string): Statement {
  return {
    sql: `INSERT INTO drc_meta.${into} (schema_name, table_name, origin, version, truncated_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))
     ON DUPLICATE KEY UPDATE truncated_at = IF(VALUES(version) >= version, VALUES(truncated_at), truncated_at), version = GREATEST(version, VALUES(version))`,
    params: [schema, table, origin, version],
  };
}

/**
 * A tombstone lookup of one table (db/tombstones.ts findTombstonesStatement: key index, version,
 * origin) extended with the table's truncates, from both tables, as rows without a key index:
 * one statement, one answer (read the keys' part with tombstonesByOrigin, the truncates with
 * splitTruncates). A plain read.
 */
export function withTruncates(lookup: Statement, schema: string, table: string): Statement {
  return {
    sql: `${lookup.sql}
     UNION ALL
     SELECT NULL, version, origin FROM drc_meta.truncates WHERE schema_name = ? AND table_name = ?
     UNION ALL
     SELECT NULL, version, origin FROM drc_meta.applied_truncates WHERE schema_name = ? AND table_name = ?`,
    params: [...lookup.params, schema, table, schema, table],
  };
}

/** The table's truncates, as marks, in the rows of a withTruncates lookup. */
export function splitTruncates(rows: mysql.RowDataPacket[]): TombstoneMark[] {
  return rows.filter((r) => !isKeyedTombstoneRow(r)).map((r) => ({ origin: String(r.origin), version: String(r.version) }));
}

/** Data types whose values are points in time: a truncate's version (a time) compares with them. */
const TEMPORAL = new Set(['date', 'datetime', 'timestamp']);

/**
 * Record local truncates (capture). Only where the version column holds times: a truncate's version
 * is a time, which means nothing against a counter (such a table gets no protection, README).
 */
export async function recordLocalTruncates(pool: mysql.Pool | mysql.PoolConnection, ezone: string, truncates: { schema: string; table: string; versionColumn: string; version: string }[]): Promise<void> {
  for (const t of truncates) {
    const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [t.schema, t.table, t.versionColumn]);
    if (!TEMPORAL.has(String(rows[0]?.t ?? '').toLowerCase())) continue;
    const s = recordTruncateStatement('truncates', t.schema, t.table, ezone, t.version);
    await pool.query(s.sql, s.params);
  }
}
