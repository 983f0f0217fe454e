import type mysql from 'mysql2/promise';
import { isNoSuchTable } from './mysql-errors.js';

/**
 * Whether this database holds a quarantined transaction writing `schema.table` (apply/quarantine.ts):
 * set aside while its stream went on, so a row it writes may be absent here. Bootstrap removes no rows
 * of that table then (admin/bootstrap.ts); apply does not take a missing parent of it for deleted
 * (apply/write-batch.ts).
 */
export async function quarantineOpen(source: Pick<mysql.Pool, 'query'>, schema: string, table: string): Promise<boolean> {
  try {
    const [rows] = await source.query<mysql.RowDataPacket[]>("SELECT 1 FROM drc_meta.quarantine WHERE state = 'quarantined' AND JSON_CONTAINS(tables_json, JSON_QUOTE(?)) LIMIT 1", [`${schema}.${table}`]);
    return rows.length > 0;
  } catch (err) {
    if (isNoSuchTable(err)) return false;
    throw err;
  }
}
