/**
 * Row statements of the applier (decisions → DML). Pure. Statements work on MariaDB and MySQL 8;
 * values always travel as parameters, never inlined.
 */
import { quoteId, tableRef, type Statement } from '../../db/sql.js';
import { fromWire, type Row } from '../../model/value.js';

export type { Statement };

/**
 * `SELECT *` (or the select list given: model/types/row.ts selectList reads FLOAT exactly) of the rows with these primary keys, locked for update: one point lookup per key
 * (`(… WHERE pk = ? FOR UPDATE) UNION ALL …`). A multi-value IN is a range scan that also waits on
 * the record after a missing key — a lock another in-flight group may hold while it waits for this
 * one to commit, which would be a cycle InnoDB cannot see.
 */
export function selectByKeys(schema: string, table: string, pk: string[], keys: Row[], select = '*'): Statement {
  const params: unknown[] = [];
  const where = pk.map((c) => `${quoteId(c)} = ?`).join(' AND ');
  const one = `(SELECT ${select} FROM ${tableRef(schema, table)} WHERE ${where} FOR UPDATE)`;
  for (const k of keys) for (const c of pk) params.push(fromWire(k[c] ?? null));
  return { sql: keys.map(() => one).join(' UNION ALL '), params };
}

/** Rows holding any of the given unique-key values (for unique collisions), locked for update. */
export function selectByUniqueKeys(schema: string, table: string, keys: { columns: string[]; values: Row }[]): Statement {
  const params: unknown[] = [];
  const ors = keys.map(({ columns, values }) => {
    for (const c of columns) params.push(fromWire(values[c] ?? null));
    return `(${columns.map((c) => `${quoteId(c)} = ?`).join(' AND ')})`;
  });
  return { sql: `SELECT * FROM ${tableRef(schema, table)} WHERE ${ors.join(' OR ')} FOR UPDATE`, params };
}

/** A multi-row INSERT; every row must have the same columns. */
export function insertRows(schema: string, table: string, rows: Row[]): Statement {
  const cols = Object.keys(rows[0] ?? {});
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  const params: unknown[] = [];
  for (const r of rows) for (const c of cols) params.push(fromWire(r[c] ?? null));
  return { sql: `INSERT INTO ${tableRef(schema, table)} (${cols.map(quoteId).join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`, params };
}

/** UPDATE of one row to the given image (all of its columns), found by primary key. */
export function updateRow(schema: string, table: string, pk: string[], key: Row, image: Row): Statement {
  const cols = Object.keys(image);
  const params: unknown[] = cols.map((c) => fromWire(image[c] ?? null));
  for (const c of pk) params.push(fromWire(key[c] ?? null));
  return {
    sql: `UPDATE ${tableRef(schema, table)} SET ${cols.map((c) => `${quoteId(c)} = ?`).join(', ')} WHERE ${pk.map((c) => `${quoteId(c)} = ?`).join(' AND ')}`,
    params,
  };
}

/** DELETE of one row, found by primary key. */
export function deleteRow(schema: string, table: string, pk: string[], key: Row): Statement {
  return {
    sql: `DELETE FROM ${tableRef(schema, table)} WHERE ${pk.map((c) => `${quoteId(c)} = ?`).join(' AND ')}`,
    params: pk.map((c) => fromWire(key[c] ?? null)),
  };
}
