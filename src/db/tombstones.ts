import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { canonicalRow, type Row } from '../model/value.js';

/** A deleted key and the version of its delete (DESIGN.md section 5 rule 4). */
export interface Tombstone {
  schema: string;
  table: string;
  key: Row;
  version: string;
  origin: string;
}

export const keyHash = (key: Row): Buffer => createHash('sha256').update(canonicalRow(key)).digest();

/**
 * Record tombstones; an existing one keeps the larger version. Runs on the given connection, so a
 * caller inside a transaction records them atomically with its other writes.
 */
export async function recordTombstones(db: mysql.Pool | mysql.Connection | mysql.PoolConnection, stones: Tombstone[]): Promise<void> {
  if (stones.length === 0) return;
  const values: unknown[] = [];
  for (const t of stones) values.push(t.schema, t.table, keyHash(t.key), canonicalRow(t.key), t.version, t.origin);
  const placeholders = stones.map(() => '(?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))').join(', ');
  // Assignments run left to right: compare against the old version before replacing it.
  await db.query(
    `INSERT INTO drc_meta.tombstones (schema_name, table_name, key_hash, key_json, version, origin, deleted_at)
     VALUES ${placeholders}
     ON DUPLICATE KEY UPDATE
       origin = IF(VALUES(version) >= version, VALUES(origin), origin),
       deleted_at = IF(VALUES(version) >= version, VALUES(deleted_at), deleted_at),
       version = GREATEST(version, VALUES(version))`,
    values,
  );
}

/** Tombstone versions of the given keys of one table (locking read: sees the latest committed rows). */
export async function findTombstones(
  db: mysql.Connection | mysql.PoolConnection,
  schema: string,
  table: string,
  keys: Row[],
): Promise<Map<string, { version: string; origin: string }>> {
  const found = new Map<string, { version: string; origin: string }>();
  if (keys.length === 0) return found;
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    `SELECT key_json, version, origin FROM drc_meta.tombstones
     WHERE schema_name = ? AND table_name = ? AND key_hash IN (?) LOCK IN SHARE MODE`,
    [schema, table, keys.map(keyHash)],
  );
  for (const r of rows) found.set(String(r.key_json), { version: String(r.version), origin: String(r.origin) });
  return found;
}

/** Delete tombstones older than the retention, a bounded number at a time; returns how many went. */
export async function purgeTombstones(db: mysql.Pool, retentionMs: number, limit = 5000): Promise<number> {
  const [res] = await db.query<mysql.ResultSetHeader>(
    'DELETE FROM drc_meta.tombstones WHERE deleted_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND LIMIT ?',
    [retentionMs * 1000, limit],
  );
  return res.affectedRows;
}
