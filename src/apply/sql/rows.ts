/**
 * Row statements of the applier (decisions → DML). Pure. Statements work on MariaDB and MySQL 8;
 * values always travel as parameters, never inlined.
 *
 * Columns are always named (issue 12): `SELECT *` omits INVISIBLE columns (MariaDB 10.3+, MySQL 8.0.23+),
 * so rows are read with the table's full column list; generated columns (VIRTUAL, STORED/PERSISTENT)
 * are read and compared like any other, but never written — the server computes them and refuses a
 * value (error 1906 / 3105).
 */
import { quoteId, tableRef, type Statement } from '../../db/sql.js';
import type { ColumnMeta } from '../../model/types/column-meta.js';
import { selectList, typeOf, type ColumnTypes } from '../../model/types/row.js';
import { fromWire, writtenParam, type Row } from '../../model/value.js';
import { lookupCondition } from './claims.js';

export type { Statement };

/**
 * The column of selectByKeys' rows naming the incoming key (its index in `keys`) a row answers. The
 * server matched the row to that key under the column's collation ('Alice' answers 'alice' under a
 * `_ci` collation, 'x' answers 'x ' under PAD SPACE): identity is the server's, not a JS comparison.
 */
export const KEY_INDEX_COLUMN = 'drc key index';

/** What the row statements need of a table: its columns (all of them, in order) and which are generated. */
export interface RowColumns {
  /** Every column of the table, INVISIBLE ones included. */
  columns: Iterable<string>;
  /** Columns the server computes (never written). */
  generated?: ReadonlySet<string>;
  /** Column types: a column whose text loses precision is read exactly (FLOAT as CAST(… AS DOUBLE)). */
  columnTypes?: ColumnTypes;
}

/** Every column by name, each read exactly (model/types/row.ts selectList). */
const columnList = (t: RowColumns) => selectList([...t.columns], t.columnTypes, quoteId);
const writable = (t: RowColumns | undefined, cols: string[]) => (t?.generated?.size ? cols.filter((c) => !t.generated!.has(c)) : cols);
/** A value written into column `c`, bound as its type binds it (a FLOAT's -0 so that the server stores -0). */
const written = (t: RowColumns | undefined, c: string, v: Row[string] | undefined) => writtenParam(v ?? null, typeOf(t?.columnTypes, c));

/**
 * The rows with these primary keys, locked for update, each tagged with the index of the key it
 * answers (KEY_INDEX_COLUMN): one point lookup per key (`(… WHERE pk = ? FOR UPDATE) UNION ALL …`).
 * A multi-value IN is a range scan that also waits on the record after a missing key — a lock another
 * in-flight group may hold while it waits for this one to commit, which would be a cycle InnoDB cannot see.
 */
export function selectByKeys(schema: string, table: string, pk: string[], keys: Row[], t: RowColumns): Statement {
  const params: unknown[] = [];
  const where = pk.map((c) => `${quoteId(c)} = ?`).join(' AND ');
  const cols = columnList(t);
  const one = (i: number) => `(SELECT ${i} AS ${quoteId(KEY_INDEX_COLUMN)}, ${cols} FROM ${tableRef(schema, table)} WHERE ${where} FOR UPDATE)`;
  for (const k of keys) for (const c of pk) params.push(fromWire(k[c] ?? null));
  return { sql: keys.map((_, i) => one(i)).join(' UNION ALL '), params };
}

/** The column of selectByUniqueKeys' rows saying whether the row is the one with the given primary key (under its collation). */
export const SELF_COLUMN = 'drc is self';

/**
 * Rows holding any of the given unique-key values (for unique collisions), locked for update, each
 * with SELF_COLUMN: 1 when it is the row with primary key `self` (the server compares, under the key's collation).
 */
export function selectByUniqueKeys(
  schema: string,
  table: string,
  keys: { columns: string[]; values: Row; prefixes?: Readonly<Record<string, number>> }[],
  t: RowColumns & { columnMeta?: ColumnMeta[] },
  self: { pk: string[]; key: Row },
): Statement {
  const params: unknown[] = self.pk.map((c) => fromWire(self.key[c] ?? null));
  const isSelf = self.pk.map((c) => `${quoteId(c)} = ?`).join(' AND ');
  const ors = keys.map(({ columns, values, prefixes }) => {
    // A prefix key (`UNIQUE KEY (name(10))`) collides on the first characters (sql/claims.ts lookupCondition).
    const conditions = columns.map((c) => lookupCondition(c, t.columnMeta?.find((m) => m.name === c), prefixes?.[c], fromWire(values[c] ?? null)));
    for (const c of conditions) params.push(...c.params);
    return `(${conditions.map((c) => c.sql).join(' AND ')})`;
  });
  return { sql: `SELECT (${isSelf}) AS ${quoteId(SELF_COLUMN)}, ${columnList(t)} FROM ${tableRef(schema, table)} WHERE ${ors.join(' OR ')} FOR UPDATE`, params };
}

/** A multi-row INSERT of the rows' writable columns; every row must have the same columns. */
export function insertRows(schema: string, table: string, rows: Row[], t?: RowColumns): Statement {
  const cols = writable(t, Object.keys(rows[0] ?? {}));
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  const params: unknown[] = [];
  for (const r of rows) for (const c of cols) params.push(written(t, c, r[c]));
  return { sql: `INSERT INTO ${tableRef(schema, table)} (${cols.map(quoteId).join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`, params };
}

/** UPDATE of one row to the given image (all of its writable columns), found by primary key. */
export function updateRow(schema: string, table: string, pk: string[], key: Row, image: Row, t?: RowColumns): Statement {
  const cols = writable(t, Object.keys(image));
  const params: unknown[] = cols.map((c) => written(t, c, image[c]));
  for (const c of pk) params.push(fromWire(key[c] ?? null));
  return {
    sql: `UPDATE ${tableRef(schema, table)} SET ${cols.map((c) => `${quoteId(c)} = ?`).join(', ')} WHERE ${pk.map((c) => `${quoteId(c)} = ?`).join(' AND ')}`,
    params,
  };
}

/** A share lock on the row at `key` (its columns: the values to match), for reads that decide by it (coverage.ts readCovered). */
export function shareLockRow(schema: string, table: string, key: Row): Statement {
  const cols = Object.keys(key);
  return { sql: `SELECT 1 FROM ${tableRef(schema, table)} WHERE ${cols.map((c) => `${quoteId(c)} = ?`).join(' AND ')} LOCK IN SHARE MODE`, params: cols.map((c) => fromWire(key[c] ?? null)) };
}

/** DELETE of one row, found by primary key. */
export function deleteRow(schema: string, table: string, pk: string[], key: Row): Statement {
  return {
    sql: `DELETE FROM ${tableRef(schema, table)} WHERE ${pk.map((c) => `${quoteId(c)} = ?`).join(' AND ')}`,
    params: pk.map((c) => fromWire(key[c] ?? null)),
  };
}
