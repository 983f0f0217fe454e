/**
 * What DRC knows about a column, from wherever it is read: the binlog's table map at capture (zongji),
 * information_schema where a target table is inspected, a mysql2 result field where rows are read
 * back. The registry (registry.ts) picks a column's type family from it. Every field is optional: a
 * source knows what it knows, and the registry falls back to the type-agnostic family.
 */

/** Protocol/binlog column type codes (MYSQL_TYPE_*), the same in row events and result sets. */
export const TypeCode = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  BLOB_COMPRESSED: 140,
  VARCHAR_COMPRESSED: 141,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

export interface ColumnMeta {
  name?: string;
  /** Type code (TypeCode): zongji's column type at capture, mysql2's field type where rows are read. */
  typeCode?: number;
  /** information_schema DATA_TYPE, lower case (`double`, `varchar`, `point`, …). */
  dataType?: string;
  /** information_schema COLUMN_TYPE, lower case (`binary(4)`, `enum('a','b')`, `int(10) unsigned`). */
  columnType?: string;
  /** Character set of a string column; null for binary strings and non-string columns; undefined: unknown. */
  charset?: string | null;
  collation?: string | null;
  nullable?: boolean;
  /** A VIRTUAL or STORED generated column: the server computes its value. */
  generated?: boolean;
  /** zongji's binlog metadata of the column (precision, decimals, bits, length_size, …). */
  binlog?: Readonly<Record<string, unknown>>;
}

/** A column of zongji's table map (`tableMap[id].columns[i]`, see @vlasky/zongji index.d.ts ColumnInfo). */
export interface ZongjiColumn {
  name: string;
  charset: string | null;
  type: number;
  metadata?: Record<string, unknown> | null;
  /** The real type code where capture/zongji-patches.ts made zongji read the column as a BLOB (GEOMETRY). */
  declaredType?: number;
  /** The real charset where capture/zongji-patches.ts made zongji hand over the column's bytes. */
  declaredCharset?: string;
}

/** The matching entry of zongji's `tableMap[id].columnSchemas` (information_schema-shaped). */
export interface ZongjiColumnSchema {
  COLUMN_TYPE?: string;
}

/** A column as the binlog describes it (capture). */
export function binlogColumnMeta(col: ZongjiColumn, schema?: ZongjiColumnSchema): ColumnMeta {
  const meta: ColumnMeta = { name: col.name, typeCode: col.declaredType ?? col.type, charset: col.declaredCharset ?? col.charset };
  if (schema?.COLUMN_TYPE && col.declaredCharset === undefined) meta.columnType = schema.COLUMN_TYPE.toLowerCase();
  if (col.metadata) meta.binlog = col.metadata;
  return meta;
}

/** An entry of zongji's table map cache (`tableMap[tableId]`): columns name-keyed like its rows. */
export interface ZongjiTable {
  columns?: ZongjiColumn[];
  columnSchemas?: ZongjiColumnSchema[];
}

/** The columns of a table as the binlog describes them (empty when zongji has none cached). */
export const binlogTableColumns = (table: ZongjiTable | undefined): ColumnMeta[] =>
  (table?.columns ?? []).map((c, i) => binlogColumnMeta(c, table?.columnSchemas?.[i]));

/** A row of `information_schema.COLUMNS` with the fields DRC reads (any may be missing). */
export interface SchemaColumnRow {
  COLUMN_NAME: string;
  DATA_TYPE?: string | null;
  COLUMN_TYPE?: string | null;
  CHARACTER_SET_NAME?: string | null;
  COLLATION_NAME?: string | null;
  IS_NULLABLE?: string | null;
  EXTRA?: string | null;
  GENERATION_EXPRESSION?: string | null;
}

/** A column as information_schema describes it (target tables, verify). */
export function schemaColumnMeta(row: SchemaColumnRow): ColumnMeta {
  const extra = String(row.EXTRA ?? '').toUpperCase();
  const meta: ColumnMeta = {
    name: row.COLUMN_NAME,
    charset: row.CHARACTER_SET_NAME ?? null,
    collation: row.COLLATION_NAME ?? null,
    generated: Boolean(row.GENERATION_EXPRESSION) || /\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b/.test(extra),
  };
  if (row.DATA_TYPE) meta.dataType = row.DATA_TYPE.toLowerCase();
  if (row.COLUMN_TYPE) meta.columnType = row.COLUMN_TYPE.toLowerCase();
  if (row.IS_NULLABLE) meta.nullable = row.IS_NULLABLE.toUpperCase() === 'YES';
  return meta;
}

/** The part of mysql2's typeCast field DRC reads (`type` is the TypeCode key, e.g. `DATETIME`). */
export interface QueryField {
  type: string;
  name: string;
  length?: number;
  db?: string;
  table?: string;
  string(encoding?: string): string | null;
  buffer(): Buffer | null;
  geometry(): unknown;
  /** MariaDB's extended metadata (mysql2 3.24+): the real type of UUID/INET4/INET6 and spatial columns. */
  extendedTypeName?: string;
}

/** A column as a mysql2 result field describes it (no charset: mysql2's typeCast field omits it). */
export function fieldColumnMeta(field: Pick<QueryField, 'type' | 'name' | 'extendedTypeName'>): ColumnMeta {
  const code = (TypeCode as Record<string, number>)[field.type];
  const meta: ColumnMeta = code === undefined ? { name: field.name } : { name: field.name, typeCode: code };
  if (field.extendedTypeName) meta.dataType = field.extendedTypeName.toLowerCase();
  return meta;
}
