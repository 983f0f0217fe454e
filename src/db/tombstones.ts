import type mysql from 'mysql2/promise';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { Row } from '../model/value.js';
import { keyIdentitySql, legacyKeyHash, paddedIdentityDiffers, type KeyIdentity } from './key-identity.js';
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
  /** A primary-key change's tombstone of its old key: the new key (the row moved there; apply/fk-conflict.ts). */
  movedTo?: Row;
  /**
   * A cascade victim's tombstone (apply/fk-cascade.ts): the version of the row the cascade removed,
   * older than the delete. As the row's own tombstone (findTombstonesStatement) it counts from there:
   * a write of the row between the two is judged by its parent, not held back by the delete.
   */
  rowVersion?: string;
}

/**
 * The origin of a tombstone that no origin's delete left: DRC removed the row itself (a unique-key
 * loser, apply/unique-claims.ts; a child under a concurrently deleted parent, apply/write-batch.ts).
 * No origin's stream is exempt from it (apply/resolver.ts): the exemption is for an origin's changes
 * after its own deletes, and this is none of them.
 */
export const REMOVAL_ORIGIN = '*';

/**
 * The origin of the tombstone of a row DRC removed because one of its images lost a unique value
 * (apply/unique-claims.ts, apply/unique-collision.ts) — whether the image was the row here (removed) or
 * arrived and was refused: both record this, so every ezone holds the same tombstone whatever it
 * held. It holds back older images of the key like any tombstone (apply/resolver.ts), but it is no
 * delete for the foreign-key rules: a loser's removal is provisional — the key's newest image decides
 * — so its children wait for the key to come back (apply/fk-waiting.ts) instead of going, and the
 * rules that compare a child with its parent's deletes do not count it as one (newestTombstoneStatement
 * flags it, deleteTombstonesStatement leaves it out).
 */
export const LOSER_ORIGIN = '*unique';

/** Capture records local deletes in `tombstones`; appliers record theirs in `applied_tombstones`. */
export type TombstoneTable = 'tombstones' | 'applied_tombstones';

/**
 * The key identity tombstones are recorded under (db/key-identity.ts): 2 weighs a value whose padded
 * weight is cut short whole (db/collation-weight.ts). Rows of version 1 (the column's default, what
 * daemons before it wrote) are also looked up by the padded identity until they expire.
 */
const IDENTITY_VERSION = 2;

/** The condition matching a key's tombstones: by its exact identity and, for rows of identity version 1, its padded one. */
function keyMatch(key: Row, identity: KeyIdentity): Statement {
  const exact = keyIdentitySql(key, identity);
  if (!paddedIdentityDiffers(key, identity)) return { sql: `key_hash = ${exact.sql}`, params: exact.params };
  const padded = keyIdentitySql(key, identity, 'padded');
  return { sql: `(key_hash = ${exact.sql} OR (key_hash = ${padded.sql} AND identity_version = 1))`, params: [...exact.params, ...padded.params] };
}

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
    // A delete (not a key change, not a loser's removal) is also the key's newest delete, if newer than the one kept.
    const deletes = !t.movedTo && t.origin !== LOSER_ORIGIN;
    params.push(t.schema, t.table, ...id.params, canonicalKey(t.key, t.identity.types), t.version, t.origin, t.movedTo ? JSON.stringify(t.movedTo) : null, t.rowVersion ?? null, deletes ? t.version : null, deletes ? t.origin : null);
    tuples.push(`(?, ?, ${id.sql}, ?, ?, ?, UTC_TIMESTAMP(6), ?, ${IDENTITY_VERSION}, ?, ?, ?)`);
  }
  // Assignments run left to right: compare against the old version before replacing it. A row found
  // by the exact identity becomes that key's when this tombstone is the newer (identity_version: no
  // longer matched by the padded lookup of a cut key whose older delete it held); while the old one is
  // newer, both keys still find it, as before the upgrade. The newest delete (delete_version, its
  // origin first) is kept beside the newest event: a later key change does not erase it. The row's own version (row_version, a
  // cascade victim's: Tombstone.rowVersion) is the larger of the two tombstones' row versions, each
  // its delete's version where it has none — NULL (the delete's) when the newer one has none.
  return {
    sql: `INSERT INTO drc_meta.${table} (schema_name, table_name, key_hash, key_json, version, origin, deleted_at, moved_to, identity_version, row_version, delete_version, delete_origin)
     VALUES ${tuples.join(', ')}
     ON DUPLICATE KEY UPDATE
       delete_origin = IF(VALUES(delete_version) >= COALESCE(delete_version, VALUES(delete_version)), VALUES(delete_origin), delete_origin),
       delete_version = IF(VALUES(delete_version) >= COALESCE(delete_version, VALUES(delete_version)), VALUES(delete_version), delete_version),
       row_version = IF(VALUES(version) >= version,
         IF(VALUES(row_version) IS NULL, NULL, GREATEST(VALUES(row_version), COALESCE(row_version, version))),
         IF(row_version IS NULL, NULL, GREATEST(row_version, COALESCE(VALUES(row_version), VALUES(version))))),
       identity_version = IF(VALUES(version) >= version, ${IDENTITY_VERSION}, identity_version),
       key_json = IF(VALUES(version) >= version, VALUES(key_json), key_json),
       origin = IF(VALUES(version) >= version, VALUES(origin), origin),
       moved_to = IF(VALUES(version) >= version, VALUES(moved_to), moved_to),
       deleted_at = IF(VALUES(version) >= version, VALUES(deleted_at), deleted_at),
       version = GREATEST(version, VALUES(version))`,
    params,
  };
}

/** Tombstones per INSERT of recordTombstonesStatements: a cascade's many stay below max_allowed_packet. */
export const TOMBSTONES_PER_STATEMENT = 1000;

/** recordTombstonesStatement in chunks of TOMBSTONES_PER_STATEMENT (none for none). */
export function recordTombstonesStatements(table: TombstoneTable, stones: Tombstone[]): Statement[] {
  const out: Statement[] = [];
  for (let i = 0; i < stones.length; i += TOMBSTONES_PER_STATEMENT) out.push(recordTombstonesStatement(table, stones.slice(i, i + TOMBSTONES_PER_STATEMENT)) as Statement);
  return out;
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
 * index of its key (read the result with newestTombstones), as the rows' own tombstones: a cascade
 * victim's at the version of the row removed (Tombstone.rowVersion). Each key is looked up by its server
 * identity and, until they expire, by the hash tombstones were stored under before (legacyKeyHash).
 * A plain read: in READ COMMITTED it sees every committed tombstone, and takes no lock capture could
 * wait on.
 */
export function findTombstonesStatement(schema: string, table: string, keys: Row[], identity: KeyIdentity): Statement {
  const params: unknown[] = [];
  // Per key: its identity (p 0), the hash stored before typed identities (p 0: such rows predate
  // identity versions), and where it may differ its padded identity (p 1: rows of identity version 1 only).
  const wanted = keys.map((key, i) => {
    const id = keyIdentitySql(key, identity);
    params.push(...id.params, legacyKeyHash(key));
    const rows = [i === 0 ? `SELECT 0 AS ${INDEX}, ${id.sql} AS h, 0 AS p` : `SELECT ${i}, ${id.sql}, 0`, `SELECT ${i}, ?, 0`];
    if (paddedIdentityDiffers(key, identity)) {
      const padded = keyIdentitySql(key, identity, 'padded');
      params.push(...padded.params);
      rows.push(`SELECT ${i}, ${padded.sql}, 1`);
    }
    return rows.join(' UNION ALL ');
  });
  const from = (t: TombstoneTable) =>
    `SELECT k.${INDEX}, COALESCE(t.row_version, t.version) AS version, t.origin FROM k JOIN drc_meta.${t} t ON t.schema_name = ? AND t.table_name = ? AND t.key_hash = k.h AND (k.p = 0 OR t.identity_version = 1)`;
  return {
    sql: `WITH k AS (${wanted.join(' UNION ALL ')}) ${from('tombstones')} UNION ALL ${from('applied_tombstones')}`,
    params: [...params, schema, table, schema, table],
  };
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
 * The tombstones of one key in either tombstone table, every origin together, newest first, with where
 * a key change moved the row (`moved_to`, NULL for a delete; apply/fk-conflict.ts follows it) and
 * whether it is a unique loser's removal (`loser` 1, LOSER_ORIGIN: no delete or move of the key; at
 * one version, after the others). A few rows: the newest per origin.
 */
export function newestTombstoneStatement(schema: string, table: string, key: Row, identity: KeyIdentity): Statement {
  const id = keyMatch(key, identity);
  const from = (t: TombstoneTable) => `SELECT version, moved_to, origin = ? AS loser FROM drc_meta.${t} WHERE schema_name = ? AND table_name = ? AND ${id.sql}`;
  return {
    sql: `${from('tombstones')} UNION ALL ${from('applied_tombstones')} ORDER BY version DESC, loser, moved_to IS NULL, moved_to`,
    params: [LOSER_ORIGIN, schema, table, ...id.params, LOSER_ORIGIN, schema, table, ...id.params],
  };
}

/**
 * A key change of another key of the table that moved its row into `key`, newer than `version` (a row
 * of either tombstone table whose `moved_to` is this key; apply/fk-adopt.ts movedInSince). Matched by
 * the key's exact wire text, as key changes record it.
 */
export function movedInStatement(schema: string, table: string, key: Row, version: string): Statement {
  const movedTo = JSON.stringify(key);
  const from = (t: TombstoneTable) => `SELECT 1 FROM drc_meta.${t} WHERE schema_name = ? AND table_name = ? AND moved_to = ? AND version > ?`;
  return { sql: `${from('tombstones')} UNION ALL ${from('applied_tombstones')} LIMIT 1`, params: [schema, table, movedTo, version, schema, table, movedTo, version] };
}

/**
 * The newest delete (not a key change, not a loser's removal) of one key in each tombstone table, with
 * its version and origin (apply/fk-parents.ts: a child older than its parent's delete is not placed,
 * even where that delete lost to a newer write of the parent) — kept beside the key's newest event
 * (delete_version), so a later key change of the same key does not hide it: b deletes 18, writes it
 * again and moves it to 16; a's child of its own 18, older than b's delete, goes with the delete in b
 * as in a instead of following the move (traced in the randomized test, 2 ezones, child 35).
 */
export function deleteTombstonesStatement(schema: string, table: string, key: Row, identity: KeyIdentity): Statement {
  const id = keyMatch(key, identity);
  const from = (t: TombstoneTable) => `SELECT delete_version AS version, delete_origin AS origin FROM drc_meta.${t} WHERE schema_name = ? AND table_name = ? AND ${id.sql} AND delete_version IS NOT NULL`;
  return {
    sql: `${from('tombstones')} UNION ALL ${from('applied_tombstones')}`,
    params: [schema, table, ...id.params, schema, table, ...id.params],
  };
}

/** Add a mark to a key's marks, keeping the newest per origin (as recordTombstones does with GREATEST). */
export function addMark<K>(marks: Map<K, TombstoneMark[]>, key: K, mark: TombstoneMark): void {
  const list = marks.get(key) ?? [];
  const same = list.findIndex((m) => m.origin === mark.origin);
  if (same < 0) marks.set(key, [...list, mark]);
  else if (BigInt(mark.version) > BigInt((list[same] as TombstoneMark).version)) marks.set(key, list.map((m, i) => (i === same ? mark : m)));
}

/**
 * Whether a row read by findTombstonesStatement (or a lookup extended from it, db/truncates.ts) is a
 * key's tombstone: the others have no key index.
 */
export const isKeyedTombstoneRow = (r: mysql.RowDataPacket): boolean => r[INDEX] !== null;

/**
 * The newest tombstone per key (by index in the keys looked up) and per origin in rows read by
 * findTombstonesStatement: a key deleted by two ezones keeps both, so a change from one of them still
 * meets the other's.
 */
export function tombstonesByOrigin(rows: mysql.RowDataPacket[], count: number): TombstoneMark[][] {
  const byIndex = new Map<number, TombstoneMark[]>();
  for (const r of rows) if (isKeyedTombstoneRow(r)) addMark(byIndex, Number(r[INDEX]), { version: String(r.version), origin: String(r.origin) });
  return Array.from({ length: count }, (_, i) => byIndex.get(i) ?? []);
}

/** The newest tombstone of each key (by index in the keys looked up) in rows read by findTombstonesStatement. */
export function newestTombstones(rows: mysql.RowDataPacket[], count: number): (TombstoneMark | undefined)[] {
  return tombstonesByOrigin(rows, count).map((marks) => marks.reduce<TombstoneMark | undefined>((a, m) => (!a || BigInt(m.version) > BigInt(a.version) ? m : a), undefined));
}

/** The newest tombstone of each given key of one table (undefined where there is none), in the order of `keys`. */
export async function findTombstones(
  db: mysql.Connection | mysql.PoolConnection,
  schema: string,
  table: string,
  keys: Row[],
  identity: KeyIdentity,
): Promise<(TombstoneMark | undefined)[]> {
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
