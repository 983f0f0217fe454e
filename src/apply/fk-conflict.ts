/**
 * Foreign-key violations caused by concurrent changes (issue 13): conflicts with one outcome in every
 * ezone, never a retry loop, a pause or a quarantine.
 *
 * The rule: **a parent's delete wins over concurrent child writes.** Each child ends as the parent's
 * ON DELETE action would have left it, in every ezone:
 *
 * - a child write that finds its parent missing here (1452: the parent was deleted concurrently, and
 *   its own cascade already ran here) — `fk-parent-missing`:
 *   CASCADE, RESTRICT, NO ACTION → the child is removed (an insert is skipped, an update deletes the
 *   local child row); SET NULL → the child is written with its referencing columns NULL;
 * - a parent delete (or key change) refused by children that exist only here (1451: RESTRICT / NO
 *   ACTION children written concurrently elsewhere, which the parent's ezone refuses by the rule
 *   above) — `fk-children-removed`: those children are deleted, then the parent's write runs.
 *
 * So with CASCADE the ezone that deleted the parent drops the child's late write and the other
 * ezone's own cascade removes the child; with SET NULL both keep the child with NULL references;
 * with RESTRICT both end without parent and child. Applied writes are not captured again, so the
 * removals here are local, as the cascades are.
 *
 * A parent missing without a tombstone has not arrived yet (another origin's stream carries it, with
 * three ezones or more): the write is retried, never dropped (while `drc bootstrap` copies the
 * parent's table, it waits in fk_waiting instead: write-batch.ts). A delete refused by a grandchild
 * under a child it cascades to removes that grandchild (removeRefusing), as one refused by a child
 * does. A violation with no missing parent to
 * be found is no concurrent change but a schema difference: it pauses the stream loudly
 * (SchemaMismatchError).
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import { quoteId, tableRef, type Statement } from '../db/sql.js';
import { foreignKeysOf, type ForeignKey, type Queryable, type ReferentialAction } from '../db/table-keys.js';
import { findTombstonesStatement, tombstonesByOrigin, type Tombstone } from '../db/tombstones.js';
import { splitTruncates, withTruncates } from '../db/truncates.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { SchemaMismatchError } from '../errors.js';
import { fromWire, toWireRow, type Row } from '../model/value.js';
import { comparableVersions, newestParentTombstone, newestWithPending, olderThanDelete, parentDeletes, parentRef, parentVersionType, type FkContext } from './fk-parents.js';
import { tombstoneIdentity } from './keys.js';
import type { TableSource } from './table-cache.js';
import type { Op } from './types.js';

/** How deep children of children are removed before giving up (a cycle of RESTRICT keys, say). */
const MAX_DEPTH = 16;

/** What becomes of a child write whose parents (`missing`) are gone here. Pure. */
export function childOutcome(missing: ForeignKey[]): 'set-null' | 'remove' {
  return missing.length > 0 && missing.every((fk) => fk.onDelete === 'SET NULL') ? 'set-null' : 'remove';
}

/** The image with the columns of these foreign keys NULL (the parent's ON DELETE SET NULL). Pure. */
export function withNullReferences(image: Row, missing: ForeignKey[]): Row {
  const out = { ...image };
  for (const fk of missing) for (const c of fk.columns) out[c] = null;
  return out;
}

/** The foreign keys whose every referencing column of `image` is set: those that need a parent. Pure. */
export function referencing(fks: ForeignKey[], image: Row): ForeignKey[] {
  return fks.filter((fk) => fk.columns.every((c) => image[c] !== undefined && image[c] !== null));
}

const refuses = (a: ReferentialAction) => a === 'RESTRICT' || a === 'NO ACTION';

/** Foreign keys that refuse (rather than cascade) a delete or key change of their parent. Pure. */
export function refusing(fks: ForeignKey[], action: 'delete' | 'update'): ForeignKey[] {
  return fks.filter((fk) => refuses(action === 'delete' ? fk.onDelete : fk.onUpdate));
}

const where = (columns: string[], values: unknown[]) => ({ sql: columns.map((c) => `${quoteId(c)} <=> ?`).join(' AND '), params: values });

/** The parents of `image` (through `fks`) that are not here, read in one round trip. */
export async function missingParents(session: PipelinedSession, fks: ForeignKey[], image: Row): Promise<ForeignKey[]> {
  const needed = referencing(fks, image);
  if (needed.length === 0) return [];
  const statements: Statement[] = needed.map((fk) => {
    const w = where(fk.refColumns, fk.columns.map((c) => fromWire(image[c] ?? null)));
    return { sql: `SELECT 1 FROM ${tableRef(fk.refSchema, fk.refTable)} WHERE ${w.sql} LIMIT 1 LOCK IN SHARE MODE`, params: w.params };
  });
  const results = await session.roundTrip(statements);
  return needed.filter((_, i) => (results[i] as mysql.RowDataPacket[]).length === 0);
}

/** Rows per statement of the removals below (an IN list of parent values). */
const PARENTS_PER_STATEMENT = 500;

/** Incoming foreign keys per table, read once per removal (the error path: information_schema, not the cache). */
type KeysMemo = Map<string, Promise<ForeignKey[]>>;
const incomingOf = (session: PipelinedSession, memo: KeysMemo, schema: string, table: string): Promise<ForeignKey[]> => {
  const name = `${schema}.${table}`;
  let keys = memo.get(name);
  if (!keys) memo.set(name, (keys = foreignKeysOf(queryVia(session), schema, table).then((f) => f.incoming)));
  return keys;
};

/**
 * Delete the children of the parent values `parent` (its image) through `fks` (refusing foreign keys of
 * the parent table), after what refuses their own delete (removeRefusing, every level). Returns how
 * many rows went.
 */
export async function removeChildren(session: PipelinedSession, fks: ForeignKey[], parent: Row, depth = 0): Promise<number> {
  const memo: KeysMemo = new Map();
  let removed = 0;
  for (const fk of fks) removed += await underChildren(session, memo, fk, [parent], depth, true);
  return removed;
}

/**
 * Remove what refuses a delete of `parent` (its image; `referencedBy`: its table's incoming foreign
 * keys): its children through RESTRICT / NO ACTION keys (after what refuses theirs), and, under the
 * children the delete cascades to, what refuses their delete, at every level — a grandchild written
 * elsewhere under a child that this ezone's cascade deletes. Level by level, a few statements per
 * foreign key and level whatever the number of rows. Returns how many rows went.
 */
export async function removeRefusing(session: PipelinedSession, referencedBy: ForeignKey[], parent: Row, depth = 0): Promise<number> {
  return refusersOf(session, new Map(), referencedBy, [parent], depth);
}

async function refusersOf(session: PipelinedSession, memo: KeysMemo, referencedBy: ForeignKey[], parents: Row[], depth: number): Promise<number> {
  let removed = 0;
  for (const fk of referencedBy) {
    if (refuses(fk.onDelete)) removed += await underChildren(session, memo, fk, parents, depth, true);
    else if (fk.onDelete === 'CASCADE') removed += await underChildren(session, memo, fk, parents, depth, false);
  }
  return removed;
}

/** The children of `parents` through `fk`: what refuses their delete removed first, then (`remove`) they themselves. */
async function underChildren(session: PipelinedSession, memo: KeysMemo, fk: ForeignKey, parents: Row[], depth: number, remove: boolean): Promise<number> {
  if (depth > MAX_DEPTH) throw new SchemaMismatchError(`foreign keys refuse a delete more than ${MAX_DEPTH} levels deep (a cycle of RESTRICT keys?)`, {});
  const values = parents.map((p) => fk.refColumns.map((c) => fromWire(p[c] ?? null))).filter((v) => v.every((x) => x !== null));
  if (values.length === 0) return 0;
  const below = await incomingOf(session, memo, fk.schema, fk.table);
  const descend = await mayRefuse(session, memo, below);
  const cols = [...new Set(below.flatMap((g) => g.refColumns))];
  let removed = 0;
  for (let i = 0; i < values.length; i += PARENTS_PER_STATEMENT) {
    const w = among(fk.columns, values.slice(i, i + PARENTS_PER_STATEMENT));
    if (descend) {
      const [rows] = (await session.roundTrip([{ sql: `SELECT ${cols.map(quoteId).join(', ')} FROM ${tableRef(fk.schema, fk.table)} WHERE ${w.sql} FOR UPDATE`, params: w.params }])) as [mysql.RowDataPacket[]];
      if (rows.length > 0) removed += await refusersOf(session, memo, below, rows.map((r) => toWireRow(r)), depth + 1);
    }
    if (remove) removed += (await session.exec({ sql: `DELETE FROM ${tableRef(fk.schema, fk.table)} WHERE ${w.sql}`, params: w.params })).affectedRows;
  }
  return removed;
}

/** `(c1, c2) IN ((?, ?), …)` (or `c IN (?, …)`) over these non-NULL values. Pure. */
function among(columns: string[], values: unknown[][]): { sql: string; params: unknown[] } {
  const one = columns.length === 1 ? '?' : `(${columns.map(() => '?').join(', ')})`;
  const cols = columns.length === 1 ? quoteId(columns[0]!) : `(${columns.map(quoteId).join(', ')})`;
  return { sql: `${cols} IN (${values.map(() => one).join(', ')})`, params: values.flat() };
}

/** Whether a delete through these keys can be refused at some level (a RESTRICT / NO ACTION key, directly or under CASCADE ones): the schema alone. */
async function mayRefuse(session: PipelinedSession, memo: KeysMemo, fks: ForeignKey[], seen = new Set<string>()): Promise<boolean> {
  for (const fk of fks) {
    if (refuses(fk.onDelete)) return true;
    const table = `${fk.schema}.${fk.table}`;
    if (fk.onDelete !== 'CASCADE' || seen.has(table)) continue;
    seen.add(table);
    if (await mayRefuse(session, memo, await incomingOf(session, memo, fk.schema, fk.table), seen)) return true;
  }
  return false;
}

/**
 * Whether the missing parents were deleted here (a tombstone of each parent's primary key): then the
 * child's write meets a concurrent delete, a conflict. Without a tombstone the parent has not arrived
 * yet — written in a third ezone, it travels on another origin's stream — and the write is retried
 * (bounded by the supervisor: a parent that never comes pauses the stream loudly). A key referencing
 * other columns than the parent's primary key cannot be told apart: taken as deleted.
 */
export async function parentsDeleted(session: PipelinedSession, tables: TableSource, missing: ForeignKey[], image: Row, pending: Tombstone[]): Promise<boolean> {
  for (const fk of missing) {
    const ref = await parentRef(tables, fk, image);
    if (!ref) continue;
    // Tombstones of this target transaction not written yet: a child removed earlier in it (its own children follow).
    if (pending.some((t) => t.schema === fk.refSchema && t.table === fk.refTable && canonicalKey(t.key) === canonicalKey(ref.key))) continue;
    // Stored tombstones are found by the server's identity of the key (db/key-identity.ts); a truncate of the parent table counts too.
    const [rows] = (await session.roundTrip([withTruncates(findTombstonesStatement(fk.refSchema, fk.refTable, [ref.key], tombstoneIdentity(ref.info)), fk.refSchema, fk.refTable)])) as [mysql.RowDataPacket[]];
    if ((tombstonesByOrigin(rows, 1)[0] ?? []).length === 0 && splitTruncates(rows).length === 0) return false;
  }
  return true;
}

/**
 * Whether every missing parent was deleted here by a delete older than the child write (version
 * `version`, of a column of type `childType`): its newest tombstone is a delete (no key change) below
 * it, or a unique loser's removal and nothing else (db/tombstones.ts LOSER_ORIGIN: whatever the child's
 * version — no origin deleted the parent). Then the child waits for its parent to come back
 * (fk-waiting.ts) instead of being dropped. Never
 * when the versions cannot be compared (fk-parents.ts comparableVersions): the child goes, as in the
 * ezone where the delete's cascade met it.
 */
export async function deletedBefore(session: PipelinedSession, ctx: FkContext, missing: ForeignKey[], image: Row, version: string, childType: string | undefined, pending: readonly Tombstone[] = []): Promise<boolean> {
  for (const fk of missing) {
    const ref = await parentRef(ctx.tables, fk, image);
    if (!ref || !comparableVersions(parentVersionType(ctx, ref), childType)) return false;
    // This transaction's own tombstones count too (not written yet): a loser removed earlier in the batch.
    const known = newestWithPending(await newestParentTombstone(session, ref, ctx.local), pending, ref);
    if (!known || known.newest.movedTo !== undefined) return false;
    // Older than a delete of the parent: it went with it. Removed since only as a unique loser: the key's
    // newest image decides, so the child waits whatever its version.
    if (known.deleted && known.deleted.movedTo === undefined && olderThanDelete(version, known.deleted.version)) return false;
  }
  return true;
}

/**
 * Whether a parent of `image` (through `fks`, keys on the parent's primary key) was deleted here at or
 * after `version` (its newest delete not older, every origin: fk-parents.ts parentDeletes): a waiting
 * child of that version is older than that delete, which removed it as it would have in every ezone
 * (fk-waiting.ts). A key change of the parent is not a delete: the child follows it (followMoves).
 * Versions that cannot be compared say nothing (a child waits only where they can).
 */
export async function deletedSince(session: PipelinedSession, ctx: FkContext, fks: ForeignKey[], image: Row, version: string, childType: string | undefined): Promise<boolean> {
  for (const fk of referencing(fks, image)) {
    const ref = await parentRef(ctx.tables, fk, image);
    if (!ref || !comparableVersions(parentVersionType(ctx, ref), childType)) continue;
    const [deletes = []] = await parentDeletes(session, [ref], ctx.local);
    if (deletes.some((d) => olderThanDelete(version, d.version))) return true;
  }
  return false;
}

/** How many key changes of its missing parents one child write follows (a chain 5 → 7 → 9, or a cycle). */
export const MAX_MOVES = 8;

/**
 * A child image with its references moved along every key change of its missing parents
 * (movedParents, up to MAX_MOVES in a chain), and the newest move's version — undefined when no
 * missing parent was re-keyed, or the chain is longer. The image's own primary key never changes here:
 * a move of a reference that is part of it is not followed (the child's row would change key). For a
 * waiting child whose parent came back and was re-keyed since (fk-waiting.ts): where it was placed in
 * between, the key change's cascade moved it along. Not followed: a parent whose key holds a row again
 * (re-used after the move, or the moved row come back): a key keeps one tombstone per origin, its
 * newest event, which cannot tell the two apart (README, Foreign keys, known limits).
 */
export async function followMoves(session: PipelinedSession, tables: TableSource, fks: ForeignKey[], image: Row, primaryKey: readonly string[]): Promise<{ image: Row; version: string } | undefined> {
  let out: { image: Row; version: string } | undefined;
  for (let moves = 0; moves < MAX_MOVES; moves++) {
    const from = out?.image ?? image;
    const missing = await missingParents(session, fks, from);
    if (missing.length === 0) return out;
    const moved = await movedParents(session, tables, missing, from);
    if (!moved || primaryKey.some((c) => canonicalKey({ [c]: moved.image[c] ?? null }) !== canonicalKey({ [c]: image[c] ?? null }))) return out;
    out = { image: moved.image, version: out && BigInt(out.version) > BigInt(moved.version) ? out.version : moved.version };
  }
  return undefined;
}

/**
 * Where the missing parents went, when each was re-keyed rather than deleted: the image with its
 * references moved as the parent table's ON UPDATE action moves them (CASCADE: the new key's values;
 * SET NULL: NULL), or undefined when any missing parent was deleted, has not arrived, or its key is
 * not the primary key. The parent's newest tombstone decides (db/tombstones.ts
 * newestTombstoneStatement), every origin together: a key change's tombstone of its old key records
 * the new key (`moved_to`).
 *
 * Why this converges: an ezone that had the child before the key change moved it with its own
 * cascade (the key change applies as one UPDATE, fk-key-change.ts); an ezone where the child arrives
 * after the key change finds the old key's tombstone and moves it to the same place here. Both ends
 * are the shipped image with the references the key change gave it, and the child's version column
 * unchanged (a cascade does not touch it). A parent moved on again, or deleted at its new key, is
 * followed by the caller (a missing parent again). Not followed: a tombstone whose newest event is a
 * delete though the key was re-keyed earlier (then re-inserted and deleted) — taken as deleted.
 * `pending`: the tombstones of this target transaction not written yet. With the moved image, the
 * newest of the moves' versions (followMoves bounds a later delete of the new key by it).
 */
export async function movedParents(session: PipelinedSession, tables: TableSource, missing: ForeignKey[], image: Row, pending: readonly Tombstone[] = []): Promise<{ image: Row; version: string } | undefined> {
  const out = { ...image };
  let version: string | undefined;
  for (const fk of missing) {
    if (fk.onUpdate !== 'CASCADE' && fk.onUpdate !== 'SET NULL') return undefined;
    const ref = await parentRef(tables, fk, image);
    if (!ref) return undefined;
    // Only when the newest tombstone is the move: a key re-used since (removed as a loser, deleted) was not
    // moved — this transaction's own tombstones included (not written yet): the parent of the same source
    // transaction, removed as a unique loser just before its child, re-used a key a key change had freed.
    const newest = newestWithPending(await newestParentTombstone(session, ref), pending, ref)?.newest;
    const to = newest?.movedTo;
    if (newest === undefined || to === undefined) return undefined;
    if (version === undefined || BigInt(newest.version) > BigInt(version)) version = newest.version;
    fk.columns.forEach((c, i) => {
      out[c] = fk.onUpdate === 'CASCADE' ? (to[fk.refColumns[i] as string] ?? null) : null;
    });
  }
  return version === undefined ? undefined : { image: out, version };
}

/**
 * The statements moving the children of the parent values `from` to `to` as each referencing key's ON
 * UPDATE action does (CASCADE: the new values, SET NULL: NULL; RESTRICT and NO ACTION children cannot
 * exist in the origin, which refused the key change otherwise). Only keys whose values changed. Pure.
 */
export function followStatements(incoming: ForeignKey[], from: Row, to: Row, before?: { column: string; value: Row[string] }): Statement[] {
  const out: Statement[] = [];
  for (const fk of incoming) {
    if (fk.onUpdate !== 'CASCADE' && fk.onUpdate !== 'SET NULL') continue;
    const old = fk.refColumns.map((c) => fromWire(from[c] ?? null));
    if (old.some((v) => v === null) || fk.refColumns.every((c) => JSON.stringify(from[c] ?? null) === JSON.stringify(to[c] ?? null))) continue;
    // Columns stamped on update keep their value, as under InnoDB's own cascade (the origin's children kept theirs).
    const kept = fk.autoUpdated.filter((c) => !fk.columns.includes(c)).map((c) => `${quoteId(c)} = ${quoteId(c)}`);
    const set = [...fk.columns.map((c) => `${quoteId(c)} = ?`), ...kept].join(', ');
    const values = fk.onUpdate === 'CASCADE' ? fk.refColumns.map((c) => fromWire(to[c] ?? null)) : fk.columns.map(() => null);
    const w = where(fk.columns, old);
    // Only children older than the bound (fk-adopt.ts: those an older key change took along), when the child table versions rows by the same column.
    const bound = before && before.value !== null && (fk.autoUpdated ?? []).includes(before.column) ? { sql: ` AND ${quoteId(before.column)} < ?`, params: [fromWire(before.value)] } : { sql: '', params: [] };
    out.push({ sql: `UPDATE ${tableRef(fk.schema, fk.table)} SET ${set} WHERE ${w.sql}${bound.sql}`, params: [...values, ...w.params, ...bound.params] });
  }
  return out;
}

/**
 * A parent delete lost here to a newer write of the parent (delete-diverged, skipped), while in its
 * origin — and in every ezone it reached before that newer write — its cascade already removed the
 * children. So that every ezone ends alike, its children here that are older than the delete go as the
 * foreign key's ON DELETE action says: CASCADE, RESTRICT, NO ACTION → deleted (RESTRICT ones cannot
 * have been there in the origin, which deleted the parent); SET NULL → their references NULL. A child
 * written after the delete (by the clocks) stays: it was written under the surviving row. Only keys
 * whose child table versions rows by the same, auto-updated column are bounded; others lose every
 * child, as the cascade did. Pure.
 */
export function orphanStatements(incoming: ForeignKey[], parent: Row, before: { column: string; value: Row[string] }, strictly = false): Statement[] {
  const out: Statement[] = [];
  for (const fk of incoming) {
    const values = fk.refColumns.map((c) => fromWire(parent[c] ?? null));
    if (values.some((v) => v === null)) continue;
    const w = where(fk.columns, values);
    // A child of the delete's own version is older than it (fk-parents.ts olderThanDelete): it goes too
    // (`strictly`: only children older than the bound — those a key change of that version took along, fk-adopt.ts).
    const bound = before.value !== null && (fk.autoUpdated ?? []).includes(before.column) ? { sql: ` AND ${quoteId(before.column)} ${strictly ? '<' : '<='} ?`, params: [fromWire(before.value)] } : { sql: '', params: [] };
    if (fk.onDelete === 'SET NULL') {
      const kept = fk.autoUpdated.filter((c) => !fk.columns.includes(c)).map((c) => `${quoteId(c)} = ${quoteId(c)}`);
      out.push({ sql: `UPDATE ${tableRef(fk.schema, fk.table)} SET ${[...fk.columns.map((c) => `${quoteId(c)} = NULL`), ...kept].join(', ')} WHERE ${w.sql}${bound.sql}`, params: [...w.params, ...bound.params] });
    } else {
      out.push({ sql: `DELETE FROM ${tableRef(fk.schema, fk.table)} WHERE ${w.sql}${bound.sql}`, params: [...w.params, ...bound.params] });
    }
  }
  return out;
}

/** The before-image whose referenced values the children hold: a delete's image, an update's before-image. */
export const parentImageOf = (op: Op): Row => (op.kind === 'delete' ? op.image : (op.incoming.change.before ?? op.image));

/** A PipelinedSession as the query function db/ helpers take. */
export function queryVia(session: PipelinedSession): Queryable {
  return { query: async (sql, params) => [(await session.roundTrip([{ sql, params: params ?? [] }]))[0], undefined] };
}
