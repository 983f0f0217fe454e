/**
 * The journal of `drc bootstrap` for tables without a version column (README "Adding an ezone": tables
 * without a version column). While such a table is registered in TARGET's `drc_meta.bootstrap_journal`,
 * TARGET's capture records the key of every change of it it reads in TARGET's binlog — local writes and
 * the applier's alike, never the copy's own — in `drc_meta.bootstrap_keys`, in the same transaction as
 * its tombstones and before its coverage moves (capture/tombstone-recorder.ts). It acknowledges a table
 * by writing the binlog position from which on it journals it (`acked_from`), and publishes its
 * coverage in `drc_meta.journal_coverage` while a table is registered: a chunk of the copy, holding the
 * locks of its key range, waits until that covers the binlog position it read, then leaves out the
 * journaled keys (apply/copy-applier.ts applyVersionlessChunk).
 */
import type mysql from 'mysql2/promise';
import type { Row } from '../model/value.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { keyIdentitySql, type KeyIdentity, type TableName } from './key-identity.js';
import { isNoSuchTable } from './mysql-errors.js';
import { positionCovers } from '../model/position.js';
import type { Statement } from './sql.js';

/** Where the journal is read and written: a pool or a connection (mysql2, or the apply path's). */
type Queryable = { query(sql: string, params?: unknown[]): Promise<[unknown, unknown]> };

/** A registered table and whether capture acknowledged it (the position it journals from). */
export interface JournalEntry extends TableName {
  ackedFrom: string | undefined;
  /** Bootstrap asks capture to stop journaling it (forgetJournal), and where capture did. */
  forget: boolean;
  droppedFrom: string | undefined;
}

/** The keys of one table deleted by one statement when a journal is forgotten. */
export const FORGET_BATCH = 10_000;

/** The registered tables (none when the table does not exist yet: an older drc_meta). */
export async function registeredTables(db: Queryable): Promise<JournalEntry[]> {
  try {
    const [rows] = (await db.query('SELECT schema_name, table_name, acked_from, forget, dropped_from FROM drc_meta.bootstrap_journal')) as [mysql.RowDataPacket[], unknown];
    return rows.map((r) => ({
      schema: String(r.schema_name),
      table: String(r.table_name),
      ackedFrom: r.acked_from === null ? undefined : String(r.acked_from),
      forget: Number(r.forget) === 1,
      droppedFrom: r.dropped_from === null || r.dropped_from === undefined ? undefined : String(r.dropped_from),
    }));
  } catch (err) {
    if (isNoSuchTable(err)) return [];
    throw err;
  }
}

/** Register tables to journal (a fresh registration: not acknowledged yet). */
export async function registerJournal(db: Queryable, tables: TableName[]): Promise<void> {
  if (tables.length === 0) return;
  await db.query(
    `INSERT INTO drc_meta.bootstrap_journal (schema_name, table_name, registered_at, acked_from) VALUES ${tables.map(() => '(?, ?, UTC_TIMESTAMP(6), NULL)').join(', ')}
     ON DUPLICATE KEY UPDATE schema_name = schema_name`,
    tables.flatMap((t) => [t.schema, t.table]),
  );
}

/** Capture acknowledges tables: it journals every change of them after `position`. */
export async function ackJournal(db: Queryable, tables: TableName[], position: string): Promise<void> {
  for (const t of tables) await db.query('UPDATE drc_meta.bootstrap_journal SET acked_from = ? WHERE schema_name = ? AND table_name = ? AND acked_from IS NULL', [position, t.schema, t.table]);
}

/** Capture acknowledges it stopped journaling tables: no change after `position` is journaled. */
export async function ackDrop(db: Queryable, tables: TableName[], position: string): Promise<void> {
  for (const t of tables) await db.query('UPDATE drc_meta.bootstrap_journal SET dropped_from = ? WHERE schema_name = ? AND table_name = ? AND forget = 1 AND dropped_from IS NULL', [position, t.schema, t.table]);
}

/**
 * Stop journaling tables and forget their keys (the run ended verified, or starts over): ask capture
 * to stop (`forget`), wait (up to `waitMs`) until it acknowledged where it stopped and its published
 * coverage passed that (keys of changes queued before are recorded by then), then delete the keys
 * FORGET_BATCH at a time and the registration last. Returns the tables whose capture did not answer
 * in time: they stay asked to be forgotten (capture drops them when it runs; a later forget deletes the keys).
 */
export async function forgetJournal(db: Queryable, tables: TableName[], waitMs = 30_000): Promise<TableName[]> {
  if (tables.length === 0) return [];
  const where = tables.map(() => '(schema_name = ? AND table_name = ?)').join(' OR ');
  const params = tables.flatMap((t) => [t.schema, t.table]);
  await db.query(`UPDATE drc_meta.bootstrap_journal SET forget = 1 WHERE ${where}`, params);
  const deadline = Date.now() + waitMs;
  const pending = new Map(tables.map((t) => [`${t.schema}.${t.table}`, t]));
  const unanswered: TableName[] = [];
  for (;;) {
    const entries = new Map((await registeredTables(db)).map((e) => [`${e.schema}.${e.table}`, e]));
    const covered = await readJournalCoverage(db);
    for (const [k, t] of pending) {
      const e = entries.get(k);
      // Never registered (or already gone), or capture stopped journaling it and its coverage passed there.
      if (!e || (e.droppedFrom !== undefined && covered !== undefined && positionCovers(covered, e.droppedFrom))) {
        pending.delete(k);
        await deleteKeys(db, t);
        await db.query('DELETE FROM drc_meta.bootstrap_journal WHERE schema_name = ? AND table_name = ?', [t.schema, t.table]);
      }
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) {
      unanswered.push(...pending.values());
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return unanswered;
}

/** Delete a table's journaled keys, FORGET_BATCH a statement (each its own short transaction). */
async function deleteKeys(db: Queryable, t: TableName): Promise<void> {
  for (;;) {
    const [res] = (await db.query('DELETE FROM drc_meta.bootstrap_keys WHERE schema_name = ? AND table_name = ? LIMIT ?', [t.schema, t.table, FORGET_BATCH])) as [mysql.ResultSetHeader, unknown];
    if (res.affectedRows < FORGET_BATCH) return;
  }
}

/** A journaled key: a change of a registered table, by its origin. */
export interface JournalKey extends TableName {
  key: Row;
  origin: string;
  identity: KeyIdentity;
}

/** At most this many keys in one statement recording the journal: far below max_allowed_packet (a key is ~100–300 bytes). */
export const JOURNAL_KEYS_PER_STATEMENT = 1000;

/**
 * The statements recording journaled keys (a key already journaled stays: one is enough). Each key is
 * recorded once (by table and canonical key), at most `perStatement` keys a statement: one applied
 * transaction of 200k rows is one batch, and one INSERT of it would exceed max_allowed_packet.
 */
export function recordJournalStatements(keys: JournalKey[], perStatement = JOURNAL_KEYS_PER_STATEMENT): Statement[] {
  const seen = new Set<string>();
  const out: Statement[] = [];
  let values: string[] = [];
  let params: unknown[] = [];
  const flush = () => {
    if (values.length === 0) return;
    out.push({ sql: `INSERT IGNORE INTO drc_meta.bootstrap_keys (schema_name, table_name, key_hash, key_json, origin, journaled_at) VALUES ${values.join(', ')}`, params });
    values = [];
    params = [];
  };
  for (const k of keys) {
    const text = canonicalKey(k.key, k.identity.types);
    const dedupe = JSON.stringify([k.schema, k.table, text]);
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    const id = keyIdentitySql(k.key, k.identity);
    params.push(k.schema, k.table, ...id.params, text, k.origin);
    values.push(`(?, ?, ${id.sql}, ?, ?, UTC_TIMESTAMP(6))`);
    if (values.length >= perStatement) flush();
  }
  flush();
  return out;
}

/** Of `keys` (one table's), the indexes of those journaled: a plain read, no lock capture could wait on. */
export async function journaledKeys(db: Queryable, t: TableName, keys: Row[], identity: KeyIdentity): Promise<Set<number>> {
  const out = new Set<number>();
  if (keys.length === 0) return out;
  const params: unknown[] = [];
  const wanted = keys.map((key, i) => {
    const id = keyIdentitySql(key, identity);
    params.push(...id.params);
    return i === 0 ? `SELECT 0 AS i, ${id.sql} AS h` : `SELECT ${i}, ${id.sql}`;
  });
  const [rows] = (await db.query(
    `WITH k AS (${wanted.join(' UNION ALL ')}) SELECT k.i FROM k JOIN drc_meta.bootstrap_keys j ON j.schema_name = ? AND j.table_name = ? AND j.key_hash = k.h`,
    [...params, t.schema, t.table],
  )) as [mysql.RowDataPacket[], unknown];
  for (const r of rows) out.add(Number(r.i));
  return out;
}

/** Capture's published coverage (undefined: none yet). */
export async function readJournalCoverage(db: Queryable): Promise<string | undefined> {
  try {
    const [rows] = (await db.query('SELECT covered FROM drc_meta.journal_coverage WHERE id = 1')) as [mysql.RowDataPacket[], unknown];
    return rows[0] ? String(rows[0].covered) : undefined;
  } catch (err) {
    if (isNoSuchTable(err)) return undefined;
    throw err;
  }
}

/** Publish capture's coverage. */
export async function writeJournalCoverage(db: Queryable, covered: string): Promise<void> {
  await db.query('INSERT INTO drc_meta.journal_coverage (id, covered, updated_at) VALUES (1, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE covered = VALUES(covered), updated_at = VALUES(updated_at)', [covered]);
}
