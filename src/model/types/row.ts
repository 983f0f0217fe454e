/**
 * Row-level use of the registry: a row's column types, and decoding whole rows. A column without a
 * known type (or a caller without metadata) gets the type-agnostic column type.
 */
import { anyColumn } from './any-value.js';
import type { ColumnMeta } from './column-meta.js';
import type { ColumnType } from './family.js';
import { columnType } from './registry.js';
import type { Row } from './wire.js';

/** Column name → column type. Partial: unknown columns are type-agnostic. */
export type ColumnTypes = Readonly<Record<string, ColumnType>>;

/** The column type of `column` in `types` (type-agnostic when unknown). */
export const typeOf = (types: ColumnTypes | undefined, column: string): ColumnType => types?.[column] ?? anyColumn;

/** Column types of the columns described (each needs a name). */
export function columnTypesOf(columns: readonly ColumnMeta[]): ColumnTypes {
  const out: Record<string, ColumnType> = {};
  for (const c of columns) if (c.name !== undefined) out[c.name] = columnType(c);
  return out;
}

/** A row image as zongji decoded it → wire row (each column through its family's fromBinlog). */
export function decodeBinlogRow(raw: Record<string, unknown>, types?: ColumnTypes): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(raw)) out[k] = typeOf(types, k).fromBinlog(v);
  return out;
}

/** A row as mysql2 returned it → wire row (each column through its family's fromQuery). */
export function decodeQueryRow(raw: Record<string, unknown>, types?: ColumnTypes): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(raw)) out[k] = typeOf(types, k).fromQuery(v);
  return out;
}

/**
 * The select list that reads `columns` exactly (each through its type's readExpression, aliased back
 * to its name; e.g. FLOAT as `CAST(col AS DOUBLE)`), for reads whose values are compared with binlog
 * images. `quote` quotes an identifier (db/sql.ts quoteId).
 */
export function selectList(columns: readonly string[], types: ColumnTypes | undefined, quote: (name: string) => string): string {
  return columns
    .map((c) => {
      const read = typeOf(types, c).readExpression;
      return read ? `${read(quote(c))} AS ${quote(c)}` : quote(c);
    })
    .join(', ');
}

/** `*` when every column reads exactly as it is, else selectList (a table with a FLOAT column). */
export function exactSelect(columns: readonly string[], types: ColumnTypes | undefined, quote: (name: string) => string): string {
  return columns.some((c) => typeOf(types, c).readExpression) ? selectList(columns, types, quote) : '*';
}
