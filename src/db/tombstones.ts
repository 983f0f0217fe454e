import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { Row } from '../model/value.js';
import type { Statement } from './sql.js';

/** A deleted key and the version of its delete (DESIGN.md section 5 rule 4). */
export interface Tombstone {
  schema: string;
  table: string;
  key: Row;
  version: string;
  origin: string;
}

/**
 * Stored key of a tombstone: SHA-256 of the key's canonicalKey text (and the text itself in key_json).
 * Both are persisted: canonicalKey's output must never change for a key (see types/canonical-key.ts).
 */
export const keyHash = (key: Row): Buffer => createHash('sha256').update(canonicalKey(key)).digest();

/** Capture records local deletes in `tombstones`; appliers record theirs in `applied_tombstones`. */
export type TombstoneTable = 'tombstones' | 'applied_tombstones';

/** Record tombstones; an existing one keeps the larger version. Undefined when there are none. */
export function recordTombstonesStatement(table: TombstoneTable, stones: Tombstone[]): Statement | undefined {
  if (stones.length === 0) return undefined;
  const params: unknown[] = [];
  for (const t of stones) params.push(t.schema, t.table, keyHash(t.key), canonicalKey(t.key), t.version, t.origin);
  const placeholders = stones.map(() => '(?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))').join(', ');
  // Assignments run left to right: compare against the old version before replacing it.
  return {
    sql: `INSERT INTO drc_meta.${table} (schema_name, table_name, key_hash, key_json, version, origin, deleted_at)
     VALUES ${placeholders}
     ON DUPLICATE KEY UPDATE
       origin = IF(VALUES(version) >= version, VALUES(origin), origin),
       deleted_at = IF(VALUES(version) >= version, VALUES(deleted_at), deleted_at),
       version = GREATEST(version, VALUES(version))`,
    params,
  };
}

/** Record tombstones on the given pool or connection (see recordTombstonesStatement). */
export async function recordTombstones(db: mysql.Pool | mysql.Connection | mysql.PoolConnection, table: TombstoneTable, stones: Tombstone[]): Promise<void> {
  const s = recordTombstonesStatement(table, stones);
  if (s) await db.query(s.sql, s.params);
}

/**
 * Tombstones of the given keys of one table, from both tombstone tables (read the result with
 * newestTombstones). A plain read: in READ COMMITTED it sees every committed tombstone, and takes no
 * lock capture could wait on.
 */
export function findTombstonesStatement(schema: string, table: string, keys: Row[]): Statement {
  const hashes = keys.map(keyHash);
  return {
    sql: `SELECT key_json, version, origin FROM drc_meta.tombstones WHERE schema_name = ? AND table_name = ? AND key_hash IN (?)
     UNION ALL
     SELECT key_json, version, origin FROM drc_meta.applied_tombstones WHERE schema_name = ? AND table_name = ? AND key_hash IN (?)`,
    params: [schema, table, hashes, schema, table, hashes],
  };
}

/** The newest tombstone per key (canonical key JSON) in rows read by findTombstonesStatement. */
export function newestTombstones(rows: mysql.RowDataPacket[]): Map<string, { version: string; origin: string }> {
  const found = new Map<string, { version: string; origin: string }>();
  for (const r of rows) {
    const k = String(r.key_json);
    const have = found.get(k);
    if (!have || BigInt(String(r.version)) > BigInt(have.version)) found.set(k, { version: String(r.version), origin: String(r.origin) });
  }
  return found;
}

/**
 * A tombstone as the decisions read it: the version of a delete and the ezone it came from. The origin
 * matters (resolver.ts): a change never meets the tombstones of its own origin's earlier deletes.
 */
export interface TombstoneMark {
  version: string;
  origin: string;
}

/**
 * The newest tombstone per key (canonical key JSON) and per origin in rows read by
 * findTombstonesStatement: a key deleted by two ezones keeps both, so a change from one of them still
 * meets the other's.
 */
export function tombstonesByOrigin(rows: mysql.RowDataPacket[]): Map<string, TombstoneMark[]> {
  const found = new Map<string, TombstoneMark[]>();
  for (const r of rows) if (r.version !== null) addMark(found, String(r.key_json), { version: String(r.version), origin: String(r.origin) });
  return found;
}

/** Add a mark to a key's marks, keeping the newest per origin (as recordTombstones does with GREATEST). */
export function addMark<K>(marks: Map<K, TombstoneMark[]>, key: K, mark: TombstoneMark): void {
  const list = marks.get(key) ?? [];
  const same = list.findIndex((m) => m.origin === mark.origin);
  if (same < 0) marks.set(key, [...list, mark]);
  else if (BigInt(mark.version) > BigInt((list[same] as TombstoneMark).version)) marks.set(key, list.map((m, i) => (i === same ? mark : m)));
}

/** The newest tombstone of each given key of one table. */
export async function findTombstones(db: mysql.Connection | mysql.PoolConnection, schema: string, table: string, keys: Row[]): Promise<Map<string, { version: string; origin: string }>> {
  if (keys.length === 0) return new Map();
  const s = findTombstonesStatement(schema, table, keys);
  const [rows] = await db.query<mysql.RowDataPacket[]>(s.sql, s.params);
  return newestTombstones(rows);
}

/** Delete tombstones older than the retention from one table, a bounded number at a time; returns how many went. */
export async function purgeTombstones(db: mysql.Pool, table: TombstoneTable, retentionMs: number, limit = 5000): Promise<number> {
  const [res] = await db.query<mysql.ResultSetHeader>(
    `DELETE FROM drc_meta.${table} WHERE deleted_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND LIMIT ?`,
    [retentionMs * 1000, limit],
  );
  return res.affectedRows;
}
