/**
 * What `drc verify` compares: the replicated tables (any schema or table name) and, per table, the
 * explicit column list from information_schema — INVISIBLE columns included (`SELECT *` omits them),
 * generated ones included (VIRTUAL and STORED: recomputed from the others, so comparing them costs a
 * little and catches a generation expression that differs between ezones). A table whose columns
 * differ between ezones is a schema difference, reported as such instead of as a difference per row.
 */
import type mysql from 'mysql2/promise';
import { TableFilter } from '../config/table-filter.js';
import type { Config } from '../config/schema.js';
import { primaryKeyOf } from '../db/table-keys.js';
import { schemaColumnMeta, type SchemaColumnRow } from '../model/types/column-meta.js';
import { columnTypesOf, type ColumnTypes } from '../model/types/row.js';
import type { Pools, TableToCompare } from './verify-chunks.js';
import { formatTableName, type TableName } from './verify-names.js';
import type { VerifyColumn } from './verify-sql.js';

/** A table ready to compare, with the registry's column types (decoding rows for the report and repairs). */
export interface VerifyTable extends TableToCompare {
  types: ColumnTypes;
}

/** Why a table is not compared row by row. */
export type TableProblem = { kind: 'skipped'; reason: string } | { kind: 'schema'; ezone: string; detail: string };

/** Every replicated table of the first ezone's server, by its exact parts. */
export async function replicatedTables(pool: mysql.Pool, config: Config): Promise<TableName[]> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES
     WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys', 'drc_meta')
     ORDER BY TABLE_SCHEMA, TABLE_NAME`,
  );
  const filter = new TableFilter(config);
  return rows.map((r) => ({ schema: String(r.s), table: String(r.t) })).filter((n) => filter.roleOf(n.schema, n.table).kind === 'replicated');
}

async function columnsOf(pool: mysql.Pool, name: TableName): Promise<{ columns: VerifyColumn[]; rows: SchemaColumnRow[] }> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, IS_NULLABLE, EXTRA, GENERATION_EXPRESSION
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [name.schema, name.table],
  );
  const described = rows as unknown as SchemaColumnRow[];
  const columns = described.map((r) => {
    const meta = schemaColumnMeta(r);
    return {
      name: r.COLUMN_NAME,
      dataType: meta.dataType ?? '',
      columnType: meta.columnType ?? '',
      charset: meta.charset ?? null,
      collation: meta.collation ?? null,
      generated: meta.generated === true,
    };
  });
  return { columns, rows: described };
}

export const signature = (c: VerifyColumn) => `${c.name} ${c.columnType}${c.charset ? ` ${c.charset}/${c.collation}` : ''}${c.generated ? ' generated' : ''}`;

/** The table as every ezone has it, or why it cannot be compared row by row. */
export async function describeTable(pools: Pools, name: TableName): Promise<VerifyTable | TableProblem> {
  const [firstEzone, first] = [...pools][0]!;
  const pk = await primaryKeyOf(first, name.schema, name.table);
  if (pk.length === 0) return { kind: 'skipped', reason: `no such table or no primary key in ezone ${firstEzone}` };
  const { columns, rows } = await columnsOf(first, name);
  for (const [ezone, pool] of [...pools].slice(1)) {
    const theirs = (await columnsOf(pool, name)).columns;
    if (theirs.length === 0) return { kind: 'schema', ezone, detail: `${formatTableName(name)} does not exist in ezone ${ezone}` };
    const mine = columns.map(signature);
    const other = theirs.map(signature);
    const missing = mine.filter((s) => !other.includes(s));
    const extra = other.filter((s) => !mine.includes(s));
    if (missing.length > 0 || extra.length > 0) {
      const detail = [...missing.map((s) => `${firstEzone} has ${s}`), ...extra.map((s) => `${ezone} has ${s}`)].join('; ');
      return { kind: 'schema', ezone, detail: `columns differ: ${detail}` };
    }
  }
  const byName = new Map(columns.map((c) => [c.name, c]));
  return { ...name, pk: pk.map((c) => byName.get(c)!), columns, types: columnTypesOf(rows.map(schemaColumnMeta)) };
}
