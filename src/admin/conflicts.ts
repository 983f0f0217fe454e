/**
 * `drc conflicts`: what drc_meta.conflicts recorded in each ezone, newest first, saying how many
 * matched when the per-ezone limit cut the list.
 */
import mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import { UnreachableError } from '../errors.js';
import { unreachableMessage } from './unreachable.js';

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
  /** At most this many entries per ezone (the newest). */
  limit: number;
}

/** `drc conflicts`: the entries listed, and how many matched in all, so a cut-off list says so. */
export interface ConflictReport {
  conflicts: ConflictEntry[];
  /** Conflicts matching the filter in the chosen ezones (listed or not). */
  total: number;
  /** True when `limit` left some out (total > conflicts.length). */
  truncated: boolean;
}

/** Conflicts recorded in drc_meta.conflicts of the chosen ezones, newest first. */
export async function listConflicts(config: Config, filter: ConflictFilter): Promise<ConflictEntry[]> {
  return (await conflictReport(config, filter)).conflicts;
}

/** The newest `limit` conflicts per ezone, newest first, with the total count that matched. */
export async function conflictReport(config: Config, filter: ConflictFilter): Promise<ConflictReport> {
  const names = filter.ezone ? [filter.ezone] : Object.keys(config.ezones);
  const all = await Promise.all(names.map((name) => readEzone(config, name, filter)));
  const conflicts = all.flatMap((r) => r.rows).sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  const total = all.reduce((n, r) => n + r.total, 0);
  return { conflicts, total, truncated: total > conflicts.length };
}

async function readEzone(config: Config, name: string, filter: ConflictFilter): Promise<{ rows: ConflictEntry[]; total: number }> {
  const ez = config.ezones[name]!;
  const conn = await mysql.createConnection(connectionOptions(ez.mysql)).catch((err: unknown) => {
    throw new UnreachableError(unreachableMessage(name, ez.mysql, err), { cause: err });
  });
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
    // Counting is only needed when the limit was reached.
    let total = rows.length;
    if (rows.length >= filter.limit) {
      const [[count]] = await conn.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM drc_meta.conflicts WHERE ${where.join(' AND ')}`, params);
      total = Number(count?.n ?? rows.length);
    }
    return { rows: rows.map(toEntry), total };
  } catch (err) {
    if (isNoSuchTable(err)) return { rows: [], total: 0 }; // no daemon has run here yet
    throw err;
  } finally {
    await conn.end();
  }
}

function toEntry(r: mysql.RowDataPacket): ConflictEntry {
  return {
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
  };
}
