/**
 * What a server must offer before DRC can capture from it, shared by capture's preflight (which
 * refuses to start) and `drc doctor` (which explains): one list, so the two never disagree.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { TableFilter } from '../config/table-filter.js';

/** Server settings capture cannot work without, and the value each must have. */
export const REQUIRED_BINLOG_SETTINGS = {
  log_bin: '1',
  binlog_format: 'ROW',
  binlog_row_image: 'FULL',
  binlog_row_metadata: 'FULL',
} as const;

/** Replicated base tables without a primary key, as `schema.table` (DESIGN.md section 5: refused). */
export async function tablesWithoutPrimaryKey(pool: mysql.Pool | mysql.Connection, config: Pick<Config, 'replicate' | 'tables'>): Promise<string[]> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT t.TABLE_SCHEMA AS s, t.TABLE_NAME AS t FROM information_schema.TABLES t
     WHERE t.TABLE_TYPE = 'BASE TABLE'
       AND t.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
       AND NOT EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c
                       WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY')`,
  );
  const filter = new TableFilter(config);
  return rows.filter((r) => filter.roleOf(String(r.s), String(r.t)).kind === 'replicated').map((r) => `${r.s}.${r.t}`);
}
