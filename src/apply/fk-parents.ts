/**
 * The parents a child row references, as the foreign-key rules read them (issue 13; fk-conflict.ts,
 * fk-waiting.ts, write-batch.ts): one mapping from a foreign key and a child image to the parent's
 * primary-key values, with the parent table's info — primary key, key identity, version column type —
 * from the table cache (TableSource: information_schema is read once per table, and dropped with the
 * cache when a failure says the schema may have changed), never from information_schema on the apply
 * path itself.
 *
 * Versions of two tables can be compared only when both are times (DATETIME / TIMESTAMP, as UTC epoch
 * microseconds, whatever their precision): two counters count different things, and a counter says
 * nothing about a time. Rules that compare a child's version with its parent's delete (older children
 * go with it, newer ones wait) apply only then (`comparableVersions`).
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import { deleteTombstonesStatement, LOSER_ORIGIN, newestTombstoneStatement, type Tombstone } from '../db/tombstones.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { ForeignKey } from '../db/table-keys.js';
import type { Row } from '../model/value.js';
import { versionAsValue } from '../model/version.js';
import { readCovered, type LocalCoverage } from './coverage.js';
import { shareLockRow } from './sql/rows.js';
import { tombstoneIdentity } from './keys.js';
import type { TableInfo, TableSource } from './table-cache.js';
import type { Op } from './types.js';

/** A parent row a child image references through one foreign key: the parent table's info and the parent's primary-key values. */
export interface ParentRef {
  fk: ForeignKey;
  info: TableInfo;
  key: Row;
}

/**
 * The parent's primary-key values that `image` references through `fk`, or undefined when the key
 * references other columns than the parent's whole primary key (tombstones are kept by primary key).
 * Pure.
 */
export function parentKeyOf(fk: ForeignKey, primaryKey: string[], image: Row): Row | undefined {
  if (primaryKey.length === 0 || primaryKey.length !== fk.refColumns.length || !primaryKey.every((c) => fk.refColumns.includes(c))) return undefined;
  const key: Row = {};
  for (const c of primaryKey) key[c] = image[fk.columns[fk.refColumns.indexOf(c)] as string] ?? null;
  return key;
}

/** The parent `image` references through `fk` (see parentKeyOf), its table's info from the cache; undefined as parentKeyOf says, or when the parent table is gone. */
export async function parentRef(tables: TableSource, fk: ForeignKey, image: Row): Promise<ParentRef | undefined> {
  const info = await tables.get(fk.refSchema, fk.refTable);
  if (!info) return undefined;
  const key = parentKeyOf(fk, info.primaryKey, image);
  return key ? { fk, info, key } : undefined;
}

/** One tombstone of a parent: a delete's, a key change's (`movedTo`), or a unique loser's removal (`loser`: no delete or move, db/tombstones.ts LOSER_ORIGIN). */
export interface ParentMark {
  version: string;
  movedTo?: Row;
  loser?: true;
}

/** A parent's newest tombstone, and its newest that is not a unique loser's removal (a delete's or a move's). */
export interface ParentTombstones {
  newest: ParentMark;
  deleted?: ParentMark;
}

/** Newer first; at one version a delete or move before a loser's removal (newestTombstoneStatement's order). */
const newer = (a: ParentMark, b: ParentMark): boolean => BigInt(a.version) > BigInt(b.version) || (a.version === b.version && !a.loser && b.loser === true);

/** Add a mark to what is known of a parent's tombstones. Pure. */
function withMark(known: ParentTombstones | undefined, mark: ParentMark): ParentTombstones {
  const newest = !known || newer(mark, known.newest) ? mark : known.newest;
  const deleted = mark.loser || (known?.deleted && !newer(mark, known.deleted)) ? known?.deleted : mark;
  return { newest, ...(deleted ? { deleted } : {}) };
}

/**
 * A parent's stored tombstones with those of the target transaction not written yet (`pending`,
 * every key: only the parent's count) — a loser removed earlier in the batch. Pure.
 */
export function newestWithPending(stored: ParentTombstones | undefined, pending: readonly Tombstone[], ref: ParentRef): ParentTombstones | undefined {
  let known = stored;
  const key = canonicalKey(ref.key);
  for (const t of pending) {
    if (t.schema !== ref.fk.refSchema || t.table !== ref.fk.refTable || canonicalKey(t.key) !== key) continue;
    known = withMark(known, t.origin === LOSER_ORIGIN ? { version: t.version, loser: true } : { version: t.version, ...(t.movedTo ? { movedTo: t.movedTo } : {}) });
  }
  return known;
}

/**
 * The parent's newest tombstone and newest delete or move, every origin together (db/tombstones.ts
 * newestTombstoneStatement). With `local` coverage (an applier deciding by them: fk-conflict.ts
 * deletedBefore, deletedSince), the parent row is share-locked and the binlog position read with it,
 * and the tombstones only once local capture has passed it (coverage.ts), as parentDeletes does: a
 * local delete of the parent committed before is then recorded — without the wait, a child met a
 * local delete that capture had not recorded yet and was told older or newer by an older tombstone.
 */
export async function newestParentTombstone(session: PipelinedSession, ref: ParentRef, local?: LocalCoverage): Promise<ParentTombstones | undefined> {
  if (local && local.coverage !== 'not-needed') await readCovered(session, [shareLockRow(ref.fk.refSchema, ref.fk.refTable, ref.key)], local);
  const [rows] = (await session.roundTrip([newestTombstoneStatement(ref.fk.refSchema, ref.fk.refTable, ref.key, tombstoneIdentity(ref.info))])) as [mysql.RowDataPacket[]];
  let known: ParentTombstones | undefined;
  for (const r of rows) {
    if (r.version === null || r.version === undefined) continue;
    known = withMark(known, Number(r.loser) === 1 ? { version: String(r.version), loser: true } : { version: String(r.version), ...(r.moved_to !== null && r.moved_to !== undefined ? { movedTo: JSON.parse(String(r.moved_to)) as Row } : {}) });
  }
  return known;
}

/**
 * The delete (not key change) tombstones of each parent, with their origins. Each parent row is
 * share-locked first: a concurrent transaction that skipped a delete of it (another origin's stream,
 * holding the row it read) writes its tombstone at commit, and the READ COMMITTED reads after the lock
 * see it. A local delete's tombstone is capture's to record, behind the binlog: with `local` coverage
 * (an applier), the binlog position is read with the locks and the tombstones only once local capture
 * has passed it (coverage.ts) — a parent deleted here and written again has a row, so the catch-up
 * wait for missing rows (row-state.ts) never ran for it, and its delete's tombstone could be missing
 * yet. One round trip without coverage, two with it.
 */
export async function parentDeletes(session: PipelinedSession, refs: ParentRef[], local?: LocalCoverage): Promise<{ version: string; origin: string }[][]> {
  if (refs.length === 0) return [];
  const locks = refs.map((ref) => shareLockRow(ref.fk.refSchema, ref.fk.refTable, ref.key));
  const reads = refs.map((ref) => deleteTombstonesStatement(ref.fk.refSchema, ref.fk.refTable, ref.key, tombstoneIdentity(ref.info)));
  let results: mysql.RowDataPacket[][];
  if (!local || local.coverage === 'not-needed') {
    results = ((await session.roundTrip([...locks, ...reads])) as mysql.RowDataPacket[][]).slice(locks.length);
  } else {
    await readCovered(session, locks, local);
    results = (await session.roundTrip(reads)) as mysql.RowDataPacket[][];
  }
  return results.map((rows) => rows.filter((r) => r.version !== null && r.version !== undefined).map((r) => ({ version: String(r.version), origin: String(r.origin) })));
}

/**
 * Whether a child write of version `child` is older than a delete of its parent of version `deleted`
 * (comparable versions, fk-parents.ts comparableVersions). **A tie counts as older than the delete**,
 * everywhere the foreign-key rules compare a child with a parent's delete (fk-cascade.ts,
 * fk-conflict.ts, fk-waiting.ts), as rule 3 refuses a write whose tombstone is at least as new
 * (resolver.ts). Pure.
 */
export const olderThanDelete = (child: string, deleted: string): boolean => BigInt(child) <= BigInt(deleted);

const TEMPORAL = new Set(['datetime', 'timestamp']);

/** The data type of `column` of a table (information_schema DATA_TYPE, lower case), or undefined. */
export const dataTypeOf = (info: TableInfo | undefined, column: string | null | undefined): string | undefined =>
  column ? info?.columnMeta?.find((m) => m.name === column)?.dataType?.toLowerCase() : undefined;

/** Whether versions of columns of these two data types can be compared: both times (any precision). Pure. */
export const comparableVersions = (a: string | undefined, b: string | undefined): boolean => a !== undefined && b !== undefined && TEMPORAL.has(a.toLowerCase()) && TEMPORAL.has(b.toLowerCase());

/**
 * A parent's version (`version`, of a column of type `parentType`) as a bound for the child's
 * `column` in SQL, written as the child's column type — undefined when the two cannot be compared
 * (comparableVersions), and then no child is told older or newer by it. Pure.
 */
export function childBound(version: string, parentType: string | undefined, childType: string | undefined): string | undefined {
  return comparableVersions(parentType, childType) ? versionAsValue(version, childType) : undefined;
}

/** What the rules comparing a child with its parents read: the table cache and each table's version column (config). */
export interface FkContext {
  tables: TableSource;
  versionColumnOf(schema: string, table: string): string | null;
  /** Local capture's progress, waited for before a parent's tombstones decide (an applier; absent: no wait). */
  local?: LocalCoverage;
}

/** The data type of the parent table's version column, or undefined when it has none. */
export const parentVersionType = (ctx: FkContext, ref: ParentRef): string | undefined => dataTypeOf(ref.info, ctx.versionColumnOf(ref.fk.refSchema, ref.fk.refTable));

/** A write's row: its table and canonical primary key. */
const rowOf = (o: Op): string => `${o.incoming.change.schema}.${o.incoming.change.table}:${canonicalKey(Object.fromEntries(o.info.primaryKey.map((c) => [c, o.image[c] ?? null])))}`;

/** Whether `o` is a write of a key change away from the row `key` (rowOf's form): its change's old key is that row, its new key another. */
function movesAway(o: Op, key: string): boolean {
  const { oldKey, schema, table } = o.incoming.change;
  if (!oldKey) return false;
  const old = `${schema}.${table}:${canonicalKey(Object.fromEntries(o.info.primaryKey.map((c) => [c, oldKey[c] ?? null])))}`;
  return old === key && rowOf({ ...o, image: o.incoming.change.key }) !== key;
}

/**
 * Where the batch's key changes after `at` take the row at `parent`'s key, followed in order (1 → 15,
 * then 15 → 1 again: back at 1): the last key it is moved to and the index of the last write of that
 * key change (after it the row is there), or undefined when no write after `at` moves it away. Exact,
 * where the key's tombstones keep only each origin's newest event: a child of the row goes where the
 * row went, not under another row that took its key (parentWrittenLater). Pure.
 */
export function movedInBatch(ops: readonly Op[], at: number, parent: { schema: string; table: string; key: Row }): { to: Row; after: number } | undefined {
  let key = `${parent.schema}.${parent.table}:${canonicalKey(parent.key)}`;
  let out: { to: Row; after: number } | undefined;
  for (let j = at + 1; j < ops.length; j++) {
    const o = ops[j] as Op;
    if (!movesAway(o, key)) continue;
    const to = Object.fromEntries(o.info.primaryKey.map((c) => [c, o.incoming.change.key[c] ?? null]));
    let last = j;
    while (last + 1 < ops.length && ops[last + 1]!.incoming === o.incoming) last++;
    out = { to, after: last };
    key = `${parent.schema}.${parent.table}:${canonicalKey(to)}`;
    j = last;
  }
  return out;
}

/**
 * The index of the last write after `at` that writes (inserts or updates) each of `parents` — a write
 * of `ops`, or a child write already put after one (`postponed`: by the index it goes after). A child
 * whose parent is missing when its write runs, but re-created later in the same target transaction (a
 * catch-up batch: the parent's newer image after the child), is written after that write
 * (write-batch.ts), as it is where they arrive in two transactions — rather than decided by the
 * foreign-key rules against a state in the middle of the batch. Undefined when any parent is not
 * written later, when a key change moves the parent's row away from its key before that write (the
 * child follows the row, not the key's next one), or when the child's own row is written (any kind) in between: the child's write must
 * not overtake a later write of its row (it would undo a delete, or duplicate an insert). Pure.
 */
export function parentWrittenLater(ops: readonly Op[], at: number, child: Op, parents: readonly { schema: string; table: string; key: Row }[], postponed: ReadonlyMap<number, readonly Op[]> = new Map()): number | undefined {
  const writes: [number, Op][] = ops.map((o, j): [number, Op] => [j, o]).filter(([j]) => j > at);
  for (const [j, list] of postponed) if (j >= at) writes.push(...list.map((o): [number, Op] => [j, o]));
  let last = at;
  for (const p of parents) {
    const key = `${p.schema}.${p.table}:${canonicalKey(p.key)}`;
    const found = writes.filter(([, o]) => o.kind !== 'delete' && rowOf(o) === key).map(([j]) => j);
    if (found.length === 0) return undefined;
    const j = Math.max(...found);
    // The parent's key changes before that write (its row moves away, another row takes the key): the
    // child goes with the row it was written under, as its origin's cascade moved it — by the key
    // change's tombstone (fk-conflict.ts movedParents), not under the key's next row.
    if (writes.some(([i, o]) => i < j && movesAway(o, key))) return undefined;
    last = Math.max(last, j);
  }
  const own = rowOf(child);
  return writes.some(([j, o]) => j <= last && o !== child && rowOf(o) === own) ? undefined : last;
}
