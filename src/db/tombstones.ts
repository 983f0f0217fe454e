import type mysql from 'mysql2/promise';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { Row } from '../model/value.js';
import { keyIdentitySql, legacyKeyHash, type KeyIdentity } from './key-identity.js';
import type { Statement } from './sql.js';

/** A deleted key and the version of its delete (DESIGN.md section 5 rule 4). */
export interface Tombstone {
  schema: string;
  table: string;
  key: Row;
  version: string;
  origin: string;
  /** How the table's key values are told apart (db/key-identity.ts): the tombstone is stored under the server's identity of its key. */
  identity: KeyIdentity;
}

/** Capture records local deletes in `tombstones`; appliers record theirs in `applied_tombstones`. */
export type TombstoneTable = 'tombstones' | 'applied_tombstones';

/**
 * Record tombstones; an existing one keeps the larger version. Undefined when there are none.
 * `key_hash` is the server's identity of the key (db/key-identity.ts), computed in this statement;
 * `key_json` is the key's exact typed canonical text, for people reading the table.
 */
export function recordTombstonesStatement(table: TombstoneTable, stones: Tombstone[]): Statement | undefined {
  if (stones.length === 0) return undefined;
  const params: unknown[] = [];
  const tuples: string[] = [];
  for (const t of stones) {
    const id = keyIdentitySql(t.key, t.identity);
    params.push(t.schema, t.table, ...id.params, canonicalKey(t.key, t.identity.types), t.version, t.origin);
    tuples.push(`(?, ?, ${id.sql}, ?, ?, ?, UTC_TIMESTAMP(6))`);
  }
  // Assignments run left to right: compare against the old version before replacing it.
  return {
    sql: `INSERT INTO drc_meta.${table} (schema_name, table_name, key_hash, key_json, version, origin, deleted_at)
     VALUES ${tuples.join(', ')}
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

/** The index column of findTombstonesStatement's rows: which of the given keys a tombstone is of. */
const INDEX = 'i';

/**
 * Tombstones of the given keys of one table, from both tombstone tables, each row tagged with the
 * index of its key (read the result with newestTombstones). Each key is looked up by its server
 * identity and, until they expire, by the hash tombstones were stored under before (legacyKeyHash).
 * A plain read: in READ COMMITTED it sees every committed tombstone, and takes no lock capture could
 * wait on.
 */
export function findTombstonesStatement(schema: string, table: string, keys: Row[], identity: KeyIdentity): Statement {
  const params: unknown[] = [];
  const wanted = keys.map((key, i) => {
    const id = keyIdentitySql(key, identity);
    params.push(...id.params, legacyKeyHash(key));
    return i === 0 ? `SELECT 0 AS ${INDEX}, ${id.sql} AS h UNION ALL SELECT 0, ?` : `SELECT ${i}, ${id.sql} UNION ALL SELECT ${i}, ?`;
  });
  const from = (t: TombstoneTable) =>
    `SELECT k.${INDEX}, t.version, t.origin FROM k JOIN drc_meta.${t} t ON t.schema_name = ? AND t.table_name = ? AND t.key_hash = k.h`;
  return {
    sql: `WITH k AS (${wanted.join(' UNION ALL ')}) ${from('tombstones')} UNION ALL ${from('applied_tombstones')}`,
    params: [...params, schema, table, schema, table],
  };
}

/** The newest tombstone of each key (by index in the keys looked up) in rows read by findTombstonesStatement. */
export function newestTombstones(rows: mysql.RowDataPacket[], count: number): ({ version: string; origin: string } | undefined)[] {
  const found: ({ version: string; origin: string } | undefined)[] = new Array(count).fill(undefined);
  for (const r of rows) {
    const i = Number(r[INDEX]);
    const have = found[i];
    if (!have || BigInt(String(r.version)) > BigInt(have.version)) found[i] = { version: String(r.version), origin: String(r.origin) };
  }
  return found;
}

/** The newest tombstone of each given key of one table (undefined where there is none), in the order of `keys`. */
export async function findTombstones(
  db: mysql.Connection | mysql.PoolConnection,
  schema: string,
  table: string,
  keys: Row[],
  identity: KeyIdentity,
): Promise<({ version: string; origin: string } | undefined)[]> {
  if (keys.length === 0) return [];
  const s = findTombstonesStatement(schema, table, keys, identity);
  const [rows] = await db.query<mysql.RowDataPacket[]>(s.sql, s.params);
  return newestTombstones(rows, keys.length);
}

/** Delete tombstones older than the retention from one table, a bounded number at a time; returns how many went. */
export async function purgeTombstones(db: mysql.Pool, table: TombstoneTable, retentionMs: number, limit = 5000): Promise<number> {
  const [res] = await db.query<mysql.ResultSetHeader>(
    `DELETE FROM drc_meta.${table} WHERE deleted_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND LIMIT ?`,
    [retentionMs * 1000, limit],
  );
  return res.affectedRows;
}
