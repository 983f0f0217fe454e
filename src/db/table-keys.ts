import type mysql from 'mysql2/promise';

/**
 * The primary-key columns of `schema.table`, in index order; empty when the table does not exist or
 * has no primary key. For tools that chunk a table by its key (`drc verify`).
 */
export async function primaryKeyOf(pool: mysql.Pool | mysql.Connection, schema: string, table: string): Promise<string[]> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
    [schema, table],
  );
  return rows.map((r) => String(r.c));
}
