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

/**
 * MySQL 8 settings under which the binlog holds events DRC cannot decode (issue 14): compressed
 * transactions (TRANSACTION_PAYLOAD_EVENT) and partial JSON updates (PARTIAL_UPDATE_ROWS_EVENT).
 * MariaDB has neither variable. Both can be set per session (SYSTEM_VARIABLES_ADMIN or
 * SESSION_VARIABLES_ADMIN), so a global value that is off does not prove the binlog free of them:
 * capture also stops at the first such event it reads (capture/binlog-event-types.ts).
 */
export const BINLOG_VARIANT_SETTINGS = ['binlog_transaction_compression', 'binlog_row_value_options'] as const;

/** One verdict on a MySQL 8 binlog variant setting. */
export interface BinlogVariantVerdict {
  setting: (typeof BINLOG_VARIANT_SETTINGS)[number];
  /** The global value, or undefined where the server has no such variable (MariaDB, MySQL before 8.0.20). */
  value: string | undefined;
  /** False: capture refuses to start. */
  ok: boolean;
  /** One line for doctor and for capture's start-up error, with the fix. */
  message: string;
}

/** The verdicts for the global values in `vars` (variable name → value, as SHOW GLOBAL VARIABLES gives them). Pure. */
export function binlogVariantVerdicts(vars: Record<string, string | undefined>): BinlogVariantVerdict[] {
  const perSession = 'it can still be set per session (SYSTEM_VARIABLES_ADMIN / SESSION_VARIABLES_ADMIN), which no check can rule out: capture stops at the first such event it reads';
  const compression = vars.binlog_transaction_compression;
  const rowValue = vars.binlog_row_value_options;
  const compressionOn = compression !== undefined && ['ON', '1'].includes(compression.trim().toUpperCase());
  const partialJson = rowValue !== undefined && rowValue.toUpperCase().split(',').some((o) => o.trim() === 'PARTIAL_JSON');
  return [
    {
      setting: 'binlog_transaction_compression',
      value: compression,
      ok: !compressionOn,
      message:
        compression === undefined
          ? 'binlog_transaction_compression does not exist on this server: no compressed transactions'
          : compressionOn
            ? 'binlog_transaction_compression=ON: the binlog gets compressed transactions (TRANSACTION_PAYLOAD_EVENT) DRC cannot decode — SET PERSIST binlog_transaction_compression=OFF (and OFF in the server config)'
            : `binlog_transaction_compression=OFF globally; ${perSession}`,
    },
    {
      setting: 'binlog_row_value_options',
      value: rowValue,
      ok: !partialJson,
      message:
        rowValue === undefined
          ? 'binlog_row_value_options does not exist on this server: no partial JSON updates'
          : partialJson
            ? "binlog_row_value_options=PARTIAL_JSON: JSON updates are logged as diffs (PARTIAL_UPDATE_ROWS_EVENT) DRC cannot apply — SET PERSIST binlog_row_value_options='' (and empty in the server config)"
            : `binlog_row_value_options is empty globally; ${perSession}`,
    },
  ];
}

/** The global values of BINLOG_VARIANT_SETTINGS (absent ones left out: SHOW works on MySQL and MariaDB alike). */
export async function binlogVariantSettings(conn: mysql.Pool | mysql.Connection): Promise<Record<string, string>> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${BINLOG_VARIANT_SETTINGS.map((n) => `'${n}'`).join(', ')})`);
  return Object.fromEntries(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
}
