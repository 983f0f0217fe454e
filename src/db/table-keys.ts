import type mysql from 'mysql2/promise';

/** Anything that runs a query the mysql2 way (a pool, a connection, a pipelined session's adapter). */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<[unknown, unknown]>;
}

/**
 * The primary-key columns of `schema.table`, in index order; empty when the table does not exist or
 * has no primary key. For tools that chunk a table by its key (`drc verify`).
 */
export async function primaryKeyOf(pool: Queryable, schema: string, table: string): Promise<string[]> {
  const [rows] = (await pool.query(
    `SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
    [schema, table],
  )) as [mysql.RowDataPacket[], unknown];
  return rows.map((r) => String(r.c));
}

/** What a referential action does to the child rows (information_schema.REFERENTIAL_CONSTRAINTS). */
export type ReferentialAction = 'CASCADE' | 'SET NULL' | 'SET DEFAULT' | 'RESTRICT' | 'NO ACTION';

/** One foreign key: `schema.table (columns)` references `refSchema.refTable (refColumns)`, column by column. */
export interface ForeignKey {
  name: string;
  schema: string;
  table: string;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
  onUpdate: ReferentialAction;
  onDelete: ReferentialAction;
  /**
   * The child's columns the server stamps on update (`ON UPDATE CURRENT_TIMESTAMP`). InnoDB's own
   * cascade leaves them as they are: a statement doing a cascade's work must keep them too.
   */
  autoUpdated: string[];
}

/**
 * The foreign keys of `schema.table` (`outgoing`: it is the child) and those referencing it
 * (`incoming`: it is the parent), from KEY_COLUMN_USAGE joined with REFERENTIAL_CONSTRAINTS in one
 * query. A self-referencing key is in both lists.
 */
export async function foreignKeysOf(pool: Queryable, schema: string, table: string): Promise<{ outgoing: ForeignKey[]; incoming: ForeignKey[] }> {
  const [rows] = (await pool.query(
    `SELECT k.CONSTRAINT_NAME AS name, k.TABLE_SCHEMA AS s, k.TABLE_NAME AS t, k.COLUMN_NAME AS c,
            k.REFERENCED_TABLE_SCHEMA AS rs, k.REFERENCED_TABLE_NAME AS rt, k.REFERENCED_COLUMN_NAME AS rc,
            r.UPDATE_RULE AS onUpdate, r.DELETE_RULE AS onDelete,
            (SELECT JSON_ARRAYAGG(x.COLUMN_NAME) FROM information_schema.COLUMNS x
              WHERE x.TABLE_SCHEMA = k.TABLE_SCHEMA AND x.TABLE_NAME = k.TABLE_NAME AND LOWER(x.EXTRA) LIKE '%on update%') AS auto
     FROM information_schema.KEY_COLUMN_USAGE k
     JOIN information_schema.REFERENTIAL_CONSTRAINTS r
       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
     WHERE k.REFERENCED_TABLE_NAME IS NOT NULL
       AND ((k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ?) OR (k.REFERENCED_TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME = ?))
     ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [schema, table, schema, table],
  )) as [mysql.RowDataPacket[], unknown];
  const byName = new Map<string, ForeignKey>();
  for (const r of rows) {
    const id = `${String(r.s)}.${String(r.t)}.${String(r.name)}`;
    let fk = byName.get(id);
    if (!fk) {
      fk = { name: String(r.name), schema: String(r.s), table: String(r.t), columns: [], refSchema: String(r.rs), refTable: String(r.rt), refColumns: [], onUpdate: String(r.onUpdate) as ReferentialAction, onDelete: String(r.onDelete) as ReferentialAction, autoUpdated: autoUpdatedOf(r.auto) };
      byName.set(id, fk);
    }
    fk.columns.push(String(r.c));
    fk.refColumns.push(String(r.rc));
  }
  const all = [...byName.values()];
  const children = [...new Map(all.map((fk) => [`${fk.schema}.${fk.table}`, fk])).values()];
  if (children.length > 0) {
    const [cols] = (await pool.query(
      `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS
       WHERE LOWER(EXTRA) LIKE '%on update%' AND (${children.map(() => '(TABLE_SCHEMA = ? AND TABLE_NAME = ?)').join(' OR ')})
       ORDER BY ORDINAL_POSITION`,
      children.flatMap((fk) => [fk.schema, fk.table]),
    )) as [mysql.RowDataPacket[], unknown];
    for (const fk of all) fk.autoUpdated = cols.filter((r) => String(r.s) === fk.schema && String(r.t) === fk.table).map((r) => String(r.c));
  }
  return {
    outgoing: all.filter((fk) => fk.schema === schema && fk.table === table),
    incoming: all.filter((fk) => fk.refSchema === schema && fk.refTable === table),
  };
}

/** The JSON array of column names (or NULL) the FK query reads for `autoUpdated`. */
function autoUpdatedOf(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}
