import mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { isNoSuchTable } from '../db/mysql-errors.js';

/** One entry of `drc conflicts` (DESIGN.md section 9). */
export interface ConflictEntry {
  ezone: string;
  origin: string;
  table: string;
  key: unknown;
  reason: string;
  decision: string;
  at: string;
  incomingVersion: string | null;
  localVersion: string | null;
  incoming: unknown;
  local: unknown;
}

export interface ConflictFilter {
  ezone?: string;
  sinceMs: number;
  /** `schema.table` */
  table?: string;
  limit: number;
}

/** Conflicts recorded in drc_meta.conflicts of the chosen ezones, newest first. */
export async function listConflicts(config: Config, filter: ConflictFilter): Promise<ConflictEntry[]> {
  const names = filter.ezone ? [filter.ezone] : Object.keys(config.ezones);
  const all = await Promise.all(
    names.map(async (name) => {
      const conn = await mysql.createConnection(connectionOptions(config.ezones[name]!.mysql));
      try {
        const where = ['detected_at >= UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND'];
        const params: unknown[] = [filter.sinceMs * 1000];
        if (filter.table) {
          const [schema, table] = filter.table.split('.');
          where.push('schema_name = ? AND table_name = ?');
          params.push(schema, table);
        }
        const [rows] = await conn.query<mysql.RowDataPacket[]>(
          `SELECT detected_at, ezone, origin, schema_name, table_name, key_json, reason, decision, incoming_version, local_version, incoming_image, local_image
           FROM drc_meta.conflicts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
          [...params, filter.limit],
        );
        return rows.map(
          (r): ConflictEntry => ({
            ezone: String(r.ezone),
            origin: String(r.origin),
            table: `${r.schema_name}.${r.table_name}`,
            key: JSON.parse(String(r.key_json)),
            reason: String(r.reason),
            decision: String(r.decision),
            at: `${String(r.detected_at).replace(' ', 'T')}Z`,
            incomingVersion: r.incoming_version === null ? null : String(r.incoming_version),
            localVersion: r.local_version === null ? null : String(r.local_version),
            incoming: r.incoming_image === null ? null : JSON.parse(String(r.incoming_image)),
            local: r.local_image === null ? null : JSON.parse(String(r.local_image)),
          }),
        );
      } catch (err) {
        if (isNoSuchTable(err)) return []; // no daemon has run here yet
        throw err;
      } finally {
        await conn.end();
      }
    }),
  );
  return all.flat().sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}
