/**
 * Two ezones change the same parent's primary key concurrently (issue 13): a moves key 1 to 15, b
 * moves the same row to 8, later by the clocks. Each origin's own ON UPDATE CASCADE moved the children
 * with its own key change, so without a rule a ends with them at 15 and b at 8.
 *
 * The rule: **children follow the newest key change of the row they were under.** Where the newer key
 * change (1 → 8) arrives after an older one from elsewhere (1 → 15) already moved the row and its
 * children, the children the older move took along move on to the newer key — before anything else of
 * the batch is written, with foreign-key checks off for that statement (the new key's row is written
 * later in the same target transaction). Where the older one arrives after the newer, it finds the old
 * key's newest tombstone newer than itself and moves nothing (the children stay at 8). So both ezones,
 * and any third whatever the arrival order, end with the children at 8. With a unique value on the
 * parent, the older destination (15) then loses its claim to the newer row (unique-claims.ts) and is
 * removed without the children it would otherwise take along (CASCADE) or refuse (RESTRICT).
 *
 * Concurrent means: the old key's newest stored tombstone is a key change (`moved_to`) whose version
 * lies between the incoming change's before-image version and its own version — the incoming change
 * moved the row as it was before the older move, so its origin had not seen that move. (An origin
 * that had seen it, and then re-used and moved the old key, moves a newer row: nothing is adopted.)
 * Which children: those at the older move's destination (following its own later moves) whose version
 * column (the parent's, by name) is older than that move — the ones it took along; a child written at
 * the destination after it stays (it is its own child there, in every ezone).
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import type { KeyIdentity } from '../db/key-identity.js';
import { movedInStatement, newestTombstoneStatement } from '../db/tombstones.js';
import { quoteId, tableRef, type Statement } from '../db/sql.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { decodeQueryRow, selectList, typeOf } from '../model/types/row.js';
import { fromWire, toWireRow, type Row } from '../model/value.js';
import { compareVersions, versionOf } from '../model/version.js';
import { orphanStatements, queryVia, removeRefusing } from './fk-conflict.js';
import { foreignKeysOf, type ForeignKey } from '../db/table-keys.js';
import { isForeignKeyHasChildren } from '../db/mysql-errors.js';
import { readCovered, type LocalCoverage } from './coverage.js';
import { shareLockRow } from './sql/rows.js';
import { childBound, comparableVersions, dataTypeOf } from './fk-parents.js';
import { tombstoneIdentity } from './keys.js';
import type { TableSource } from './table-cache.js';
import type { Op } from './types.js';

/** How many later moves of the older destination are followed (15 → 16 → …). */
const MAX_HOPS = 8;

const FK_OFF: Statement = { sql: 'SET SESSION foreign_key_checks = 0', params: [] };
const FK_ON: Statement = { sql: 'SET SESSION foreign_key_checks = 1', params: [] };

/**
 * Whether the old key's newest tombstone (`moved` at version `moveVersion`) is a key change concurrent
 * with the incoming one (before-image version `before`, version `version`). Pure.
 */
export function concurrentMove(before: string | null | undefined, moveVersion: string, version: string | null | undefined): boolean {
  return before !== null && before !== undefined && compareVersions(before, moveVersion) < 0 && compareVersions(moveVersion, version) < 0;
}

/** The children of one foreign key that adoptMovedChildren moved, by primary key. */
export interface MovedChildren {
  fk: ForeignKey;
  primaryKey: string[];
  keys: Row[];
}

/** Children moved by adoptMovedChildren: from the older destination `from` to `to` (the incoming row's image), exactly `children`. */
export interface Adoption {
  moved: number;
  from: Row;
  to: Row;
  children: MovedChildren[];
}

/**
 * Move to the incoming key change's new key the children an older concurrent key change of the same
 * row took along (see above). Returns what moved (nothing: undefined). `op` is the write of the new half.
 */
export async function adoptMovedChildren(session: PipelinedSession, tables: TableSource, op: Op, versionColumn: string, local?: LocalCoverage): Promise<Adoption | undefined> {
  const { change } = op.incoming;
  const { info } = op;
  if (!change.before || !change.after || !(info.referencedBy ?? []).length) return undefined;
  const before = versionOf(change.before[versionColumn], typeOf(info.columnTypes, versionColumn));
  const identity = tombstoneIdentity(info);
  // The key the incoming change found its row at: a key change's old key, an update's own key.
  const from = change.oldKey ?? change.key;
  // A lost update (adoptOnly) finds a row at its key: row-state waited for nothing, so wait here for local capture (a local move's tombstone).
  if (op.adoptOnly) await covered(session, change.schema, change.table, from, local);
  const newest = await newestTombstone(session, change.schema, change.table, from, identity);
  if (!newest?.movedTo || !concurrentMove(before, newest.version, change.version)) return undefined;
  const value = childBound(newest.version, dataTypeOf(info, versionColumn), 'datetime');
  // adoptOnly moves children at a key where a newer row stands: only those provably older than the move (a stamped column of that name), never on doubt.
  if (op.adoptOnly && value === undefined) return undefined;
  const fks = op.adoptOnly ? stamped(info.referencedBy ?? [], versionColumn) : (info.referencedBy ?? []);
  const at = await destination(session, change.schema, change.table, { version: newest.version, movedTo: newest.movedTo }, identity, change.key);
  if (!at || fks.length === 0) return undefined;
  const bound = value === undefined ? undefined : { column: versionColumn, value };
  const children = await childrenToMove(session, tables, fks, at, change.after, bound);
  const moved = await withoutFkChecks(session, moveStatements(children, change.after));
  return moved === 0 ? undefined : { moved, from: at, to: change.after, children };
}

/**
 * A parent delete that finds its row gone here because an older concurrent key change of it (from
 * elsewhere, or this ezone's own) moved it away, its children with it: c deletes parent 24 while b,
 * not having seen the delete, moves 24 to 2 a little earlier by the clocks. In c the delete's cascade
 * removed 24's children, and b's move arriving after it finds the old key's newer tombstone and moves
 * nothing; where the move came first, its cascade took the children to 2. So that every ezone ends
 * alike, **children follow the newest write of the row they were under** here too: the children at
 * the move's destination (following its later moves) that are older than the move — the ones it took
 * along — go as each key's ON DELETE action says (CASCADE, RESTRICT, NO ACTION: deleted; SET NULL:
 * references NULL), with checks on (their own children cascade; refusing ones are removed first,
 * removeOlder). Concurrent as for adoption (concurrentMove): the delete's before-image is older than
 * the move, which is older than the delete. Never on doubt: only where the version column is a time
 * and only in child tables stamping a column of its name (the children's bound, fk-parents.ts
 * childBound) — a child without a comparable version may have been written after the move — and only
 * while the moved row is provably the one at the destination (`destination`). Returns how many child
 * rows went (0: nothing to do).
 */
export async function abandonMovedChildren(session: PipelinedSession, op: Op, versionColumn: string, local?: LocalCoverage): Promise<number> {
  const { change } = op.incoming;
  const { info } = op;
  // Only child tables stamping a column of the parent's version column's name: without one a child written after the move cannot be told apart, and nothing is removed.
  const fks = stamped(info.referencedBy ?? [], versionColumn);
  if (change.op !== 'delete' || !change.before || fks.length === 0) return 0;
  // Checked before any query: a counter version bounds nothing (fk-parents.ts comparableVersions).
  if (!comparableVersions(dataTypeOf(info, versionColumn), 'datetime')) return 0;
  const before = versionOf(change.before[versionColumn], typeOf(info.columnTypes, versionColumn));
  const identity = tombstoneIdentity(info);
  // delete-diverged finds a row at the key, so row-state's catch-up wait for missing rows did not run: wait for local capture here (a local move's tombstone). delete-missing: row-state waited already.
  if (op.movedAway?.wait) await covered(session, change.schema, change.table, change.key, local);
  const newest = await newestTombstone(session, change.schema, change.table, change.key, identity);
  if (!newest?.movedTo || !concurrentMove(before, newest.version, change.version)) return 0;
  const value = childBound(newest.version, dataTypeOf(info, versionColumn), 'datetime');
  if (value === undefined) return 0;
  const at = await destination(session, change.schema, change.table, { version: newest.version, movedTo: newest.movedTo }, identity);
  if (!at) return 0;
  let removed = 0;
  for (const fk of fks) removed += (await removeOlder(session, fk, at, { column: versionColumn, value })).rows;
  return removed;
}

/** The foreign keys whose child table stamps a column named `versionColumn` (its children's versions compare with the parent's). */
const stamped = (fks: ForeignKey[], versionColumn: string): ForeignKey[] => fks.filter((fk) => (fk.autoUpdated ?? []).includes(versionColumn));

/**
 * Where the row a move (`first`: its version and destination) put at its destination is now: the
 * destination itself while no tombstone there is newer than the move, else the next move's destination
 * (up to MAX_HOPS); undefined when the row was deleted since, is not found, or reaches `stop`. A key
 * re-used since (another row moved or inserted there after the row left) is never taken for it: the
 * row leaving left a tombstone newer than the move that brought it.
 */
async function destination(session: PipelinedSession, schema: string, table: string, first: { version: string; movedTo: Row }, identity: KeyIdentity, stop?: Row): Promise<Row | undefined> {
  let at = first.movedTo;
  let since = first.version;
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    if (stop && canonicalKey(at) === canonicalKey(stop)) return undefined;
    const next = await newestTombstone(session, schema, table, at, identity);
    if (next && compareVersions(next.version, since) > 0) {
      // The row left this key after it came: followed where it went; deleted since (or doubt): nothing.
      if (!next.movedTo) return undefined;
      at = next.movedTo;
      since = next.version;
      continue;
    }
    return (await exists(session, schema, table, at)) ? at : undefined;
  }
  return undefined;
}

/**
 * Whether a key change moved a row into `key` after `version` — a tombstone of another key of the
 * table whose `moved_to` is this key, newer than it (local capture waited for first: a local move's
 * tombstone). The row there now brought its children with it: a delete of the key at `version`, lost
 * here to that row (delete-diverged), never had them under it, and removes none as orphans
 * (fk-prepass.ts keepMovedIn). Matched by the key's exact wire text, as key changes record it.
 */
export async function movedInSince(session: PipelinedSession, schema: string, table: string, key: Row, version: string, local?: LocalCoverage): Promise<boolean> {
  await covered(session, schema, table, key, local);
  const [rows] = (await session.roundTrip([movedInStatement(schema, table, key, version)])) as [mysql.RowDataPacket[]];
  return rows.length > 0;
}

/** Share-lock the row at `key` and wait until local capture has passed the binlog position read with it (coverage.ts), before its tombstones decide. */
async function covered(session: PipelinedSession, schema: string, table: string, key: Row, local?: LocalCoverage): Promise<void> {
  if (!local || local.coverage === 'not-needed') return;
  await readCovered(session, [shareLockRow(schema, table, key)], local);
}

/**
 * The children of `fk` at `parent` older than `before` go as its ON DELETE action says (checks on:
 * their own children cascade). Where their own children refuse (RESTRICT, NO ACTION: errno 1451),
 * those are removed first, at every level, as for an ordinary delete (fk-conflict.ts removeRefusing), and the removal
 * runs again. Returns the rows removed or set, and whether refusing rows were removed.
 */
export async function removeOlder(session: PipelinedSession, fk: ForeignKey, parent: Row, before: { column: string; value: Row[string] }, strictly = true): Promise<{ rows: number; refused: boolean }> {
  const [statement] = orphanStatements([fk], parent, before, strictly);
  if (!statement) return { rows: 0, refused: false };
  try {
    return { rows: (await session.exec(statement)).affectedRows, refused: false };
  } catch (err) {
    if (!isForeignKeyHasChildren(err)) throw err;
    const grand = (await foreignKeysOf(queryVia(session), fk.schema, fk.table)).incoming;
    const cols = [...new Set(grand.flatMap((g) => g.refColumns))];
    if (cols.length === 0) throw err;
    const values = fk.refColumns.map((c) => fromWire(parent[c] ?? null));
    // The rows the statement removes or sets (its bound, as orphanStatements draws it), locked.
    const bounded = before.value !== null && (fk.autoUpdated ?? []).includes(before.column);
    const bound = bounded ? ` AND ${quoteId(before.column)} ${strictly ? '<' : '<='} ?` : '';
    const [rows] = (await session.roundTrip([{ sql: `SELECT ${cols.map(quoteId).join(', ')} FROM ${tableRef(fk.schema, fk.table)} WHERE ${fk.columns.map((c) => `${quoteId(c)} <=> ?`).join(' AND ')}${bound} FOR UPDATE`, params: [...values, ...(bounded ? [fromWire(before.value)] : [])] }])) as [mysql.RowDataPacket[]];
    let removed = 0;
    for (const r of rows) removed += await removeRefusing(session, grand, toWireRow(r), 1);
    return { rows: removed + (await session.exec(statement)).affectedRows, refused: removed > 0 };
  }
}

/**
 * The children of the parent values `from` that a move to `to` takes (ON UPDATE CASCADE or SET NULL
 * keys whose values change; older than `before` where the child table versions rows by that
 * auto-updated column), read by primary key with a lock.
 */
async function childrenToMove(session: PipelinedSession, tables: TableSource, fks: ForeignKey[], from: Row, to: Row, before?: { column: string; value: Row[string] }): Promise<MovedChildren[]> {
  const targets: { fk: ForeignKey; primaryKey: string[]; types: Parameters<typeof decodeQueryRow>[1] }[] = [];
  const selects: Statement[] = [];
  for (const fk of fks) {
    if (fk.onUpdate !== 'CASCADE' && fk.onUpdate !== 'SET NULL') continue;
    const old = fk.refColumns.map((c) => fromWire(from[c] ?? null));
    if (old.some((v) => v === null) || fk.refColumns.every((c) => JSON.stringify(from[c] ?? null) === JSON.stringify(to[c] ?? null))) continue;
    const child = await tables.get(fk.schema, fk.table);
    if (!child || child.primaryKey.length === 0) continue;
    const bound = before && before.value !== null && (fk.autoUpdated ?? []).includes(before.column) ? { sql: ` AND ${quoteId(before.column)} < ?`, params: [fromWire(before.value)] } : { sql: '', params: [] };
    selects.push({ sql: `SELECT ${selectList(child.primaryKey, child.columnTypes, quoteId)} FROM ${tableRef(fk.schema, fk.table)} WHERE ${fk.columns.map((c) => `${quoteId(c)} = ?`).join(' AND ')}${bound.sql} FOR UPDATE`, params: [...old, ...bound.params] });
    targets.push({ fk, primaryKey: child.primaryKey, types: child.columnTypes });
  }
  if (selects.length === 0) return [];
  const results = (await session.roundTrip(selects)) as mysql.RowDataPacket[][];
  return targets.map((t, i) => ({ fk: t.fk, primaryKey: t.primaryKey, keys: (results[i] ?? []).map((r) => decodeQueryRow(r as Record<string, unknown>, t.types)) })).filter((m) => m.keys.length > 0);
}

/** Keys per UPDATE of moveStatements. */
const KEYS_PER_UPDATE = 1000;

/**
 * The statements setting the references of exactly the children `moved` to the parent values `to`
 * (ON UPDATE CASCADE: its values; SET NULL: NULL). `back`: to `to`'s values whatever the action (the
 * children return where they were), and only those still under `back` (the parent they were moved
 * to: one a later write of the batch moved elsewhere stays there). Pure.
 */
export function moveStatements(moved: MovedChildren[], to: Row, back?: Row): Statement[] {
  const out: Statement[] = [];
  for (const { fk, primaryKey, keys } of moved) {
    // Columns stamped on update keep their value, as under InnoDB's own cascade.
    const kept = fk.autoUpdated.filter((c) => !fk.columns.includes(c)).map((c) => `${quoteId(c)} = ${quoteId(c)}`);
    const set = [...fk.columns.map((c) => `${quoteId(c)} = ?`), ...kept].join(', ');
    const values = back || fk.onUpdate === 'CASCADE' ? fk.refColumns.map((c) => fromWire(to[c] ?? null)) : fk.columns.map(() => null);
    const lhs = primaryKey.length === 1 ? quoteId(primaryKey[0]!) : `(${primaryKey.map(quoteId).join(', ')})`;
    const tuple = primaryKey.length === 1 ? '?' : `(${primaryKey.map(() => '?').join(', ')})`;
    // Moved back: only the children whose references still hold the values the adoption gave them (CASCADE: `back`'s; SET NULL: NULL).
    const still = back ? fk.columns.map((c, i) => ({ sql: `${quoteId(c)} <=> ?`, value: fk.onUpdate === 'CASCADE' ? fromWire(back[fk.refColumns[i] as string] ?? null) : null })) : [];
    for (let i = 0; i < keys.length; i += KEYS_PER_UPDATE) {
      const chunk = keys.slice(i, i + KEYS_PER_UPDATE);
      const where = [`${lhs} IN (${chunk.map(() => tuple).join(', ')})`, ...still.map((w) => w.sql)].join(' AND ');
      out.push({ sql: `UPDATE ${tableRef(fk.schema, fk.table)} SET ${set} WHERE ${where}`, params: [...values, ...chunk.flatMap((k) => primaryKey.map((c) => fromWire(k[c] ?? null))), ...still.map((w) => w.value)] });
    }
  }
  return out;
}

/**
 * The incoming row is not written after all — it lost a unique collision at write time
 * (unique-collision.ts: a row appeared after the decisions), or was dropped for a missing parent — so
 * exactly the children adopted for it go back where they were, as if nothing had been adopted — those
 * still under it: a later write of the batch that moved one elsewhere (an update of the child) stands. Call
 * before the incoming key's local row is removed (its cascade would take them). Where the row they
 * came from has gone meanwhile (removed earlier in the batch, a claim's loser), they end as its ON
 * DELETE action leaves them (fk-conflict.ts orphanStatements, every child at the key), with
 * foreign-key checks on (their own children cascade, RESTRICT refuses). Returns how many rows moved back.
 */
export async function undoAdoption(session: PipelinedSession, op: Op, adoption: Adoption): Promise<number> {
  const { schema, table } = op.incoming.change;
  const back = await withoutFkChecks(session, moveStatements(adoption.children, adoption.from, adoption.to));
  if (!(await exists(session, schema, table, adoption.from))) {
    const orphans = orphanStatements(op.info.referencedBy ?? [], adoption.from, { column: '', value: null });
    if (orphans.length > 0) await session.roundTrip(orphans);
  }
  return back;
}

/** Whether the row of `op`'s table with the primary key of `image` is here. */
export async function rowExists(session: PipelinedSession, op: Op, image: Row): Promise<boolean> {
  const key: Row = {};
  for (const c of op.info.primaryKey) key[c] = image[c] ?? null;
  return exists(session, op.incoming.change.schema, op.incoming.change.table, key);
}

/** Run statements with foreign-key checks off (the children's parent is written, or settled, in the same transaction); the rows they touched. */
async function withoutFkChecks(session: PipelinedSession, statements: Statement[]): Promise<number> {
  if (statements.length === 0) return 0;
  let results: unknown[];
  try {
    results = await session.roundTrip([FK_OFF, ...statements, FK_ON]);
  } catch (err) {
    await session.roundTrip([FK_ON]); // a failed round trip stops before switching checks back on
    throw err;
  }
  return results.slice(1, 1 + statements.length).reduce<number>((n, r) => n + ((r as mysql.ResultSetHeader).affectedRows ?? 0), 0);
}

async function newestTombstone(session: PipelinedSession, schema: string, table: string, key: Row, identity: KeyIdentity): Promise<{ version: string; movedTo?: Row } | undefined> {
  const [rows] = (await session.roundTrip([newestTombstoneStatement(schema, table, key, identity)])) as [mysql.RowDataPacket[]];
  const r = rows[0];
  if (!r || r.version === null || r.version === undefined) return undefined;
  return { version: String(r.version), ...(r.moved_to !== null && r.moved_to !== undefined ? { movedTo: JSON.parse(String(r.moved_to)) as Row } : {}) };
}

async function exists(session: PipelinedSession, schema: string, table: string, key: Row): Promise<boolean> {
  const cols = Object.keys(key);
  const [rows] = (await session.roundTrip([{ sql: `SELECT 1 FROM ${tableRef(schema, table)} WHERE ${cols.map((c) => `${quoteId(c)} <=> ?`).join(' AND ')} LIMIT 1`, params: cols.map((c) => fromWire(key[c] ?? null)) }])) as [mysql.RowDataPacket[]];
  return rows.length > 0;
}
