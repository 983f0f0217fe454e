/**
 * A parent's children read ahead of a delete, with a lock. One level (childrenOf): the rows of a child
 * table whose foreign key references any of `parents`, shared by the traversals that look ahead of a
 * delete (fk-cascade.ts cascadeTombstones, removedChildren below): `WHERE fk IN (…)` in chunks of parent keys,
 * pipelined, each chunk in primary-key order and at most `limit` rows in all — so a capped traversal
 * reads the same rows in every ezone holding the same rows (README, Foreign keys), and never more.
 * And the children that wait for a parent (fk-waiting.ts) read before its delete removes them:
 * newerChildren (newer than a winning remote delete), removedChildren (a unique loser's, every level).
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import { quoteId, tableRef, type Statement } from '../db/sql.js';
import type { ForeignKey } from '../db/table-keys.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { decodeQueryRow } from '../model/types/row.js';
import { fromWire, type Row } from '../model/value.js';
import type { TableInfo, TableSource } from './table-cache.js';
import { exactSelect, typeOf } from '../model/types/row.js';
import { versionOf } from '../model/version.js';
import { LOSER_ORIGIN, type Tombstone } from '../db/tombstones.js';
import { justBelow } from './unique-claims.js';
import { tombstoneIdentity } from './keys.js';
import type { FkContext } from './fk-parents.js';

/** Parent keys per SELECT of a level (`fk IN (…)`), and SELECTs per round trip. */
export const KEYS_PER_SELECT = 1000;
const SELECTS_PER_ROUND_TRIP = 8;

/** The SELECTs of one level: one per chunk of parent keys (parents with a NULL in the key have no children), each ordered by primary key and limited. Pure. */
export function childSelects(fk: ForeignKey, info: TableInfo, parents: readonly Row[], select: string, limit: number): Statement[] {
  const keys = parents.map((p) => fk.refColumns.map((c) => fromWire(p[c] ?? null))).filter((v) => !v.some((x) => x === null));
  const lhs = fk.columns.length === 1 ? quoteId(fk.columns[0]!) : `(${fk.columns.map(quoteId).join(', ')})`;
  const tuple = fk.columns.length === 1 ? '?' : `(${fk.columns.map(() => '?').join(', ')})`;
  const order = info.primaryKey.map(quoteId).join(', ');
  const out: Statement[] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_SELECT) {
    const chunk = keys.slice(i, i + KEYS_PER_SELECT);
    out.push({ sql: `SELECT ${select} FROM ${tableRef(fk.schema, fk.table)} WHERE ${lhs} IN (${chunk.map(() => tuple).join(', ')}) ORDER BY ${order} LIMIT ${limit} FOR UPDATE`, params: chunk.flat() });
  }
  return out;
}

/** The children (decoded images) of `parents` through `fk`, at most `limit` of them (the first chunks' first rows). */
export async function childrenOf(session: PipelinedSession, fk: ForeignKey, info: TableInfo, parents: readonly Row[], select: string, limit: number): Promise<Row[]> {
  const found: Row[] = [];
  if (limit <= 0) return found;
  const selects = childSelects(fk, info, parents, select, Math.floor(limit));
  for (let i = 0; i < selects.length && found.length < limit; i += SELECTS_PER_ROUND_TRIP) {
    const results = (await session.roundTrip(selects.slice(i, i + SELECTS_PER_ROUND_TRIP))) as mysql.RowDataPacket[][];
    for (const r of results.flat()) {
      if (found.length >= limit) break;
      found.push(decodeQueryRow(r as Record<string, unknown>, info.columnTypes));
    }
  }
  return found;
}

/** The rows of `rows` (children read through `fk`) not visited yet, each with its primary key; marks them visited in `seen`. */
export function unvisited(fk: ForeignKey, info: TableInfo, rows: readonly Row[], seen: Set<string>): { key: Row; image: Row }[] {
  const out: { key: Row; image: Row }[] = [];
  for (const image of rows) {
    const key: Row = {};
    for (const c of info.primaryKey) key[c] = image[c] ?? null;
    const id = `${fk.schema}.${fk.table}|${canonicalKey(key, info.columnTypes)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ key, image });
  }
  return out;
}

export interface WaitingChild {
  schema: string;
  table: string;
  key: Row;
  version: string;
  image: Row;
  /**
   * Where the child's write came from, for the conflict recorded when it is placed: the incoming
   * change's origin and source transaction, or — a child that was here, stashed before a winning
   * remote delete removed it — this ezone and the delete's transaction. Absent in children stashed
   * by older builds.
   */
  origin?: string;
  txId?: string;
}

/**
 * The children of `parent` (through `fks`) here that are newer than `bound` (their version column,
 * named as the parent's): read before a winning remote delete of the parent removes them.
 */
export async function newerChildren(session: PipelinedSession, tables: TableSource, fks: ForeignKey[], parent: Row, column: string, bound: Row[string], from: { origin: string; txId: string }): Promise<WaitingChild[]> {
  const out: WaitingChild[] = [];
  for (const fk of fks) {
    if (fk.onDelete === 'SET NULL' || !fk.autoUpdated.includes(column)) continue;
    const values = fk.refColumns.map((c) => fromWire(parent[c] ?? null));
    if (values.some((v) => v === null)) continue;
    const info = await tables.get(fk.schema, fk.table);
    if (!info || info.primaryKey.length === 0) continue;
    const cols = (info.columnMeta ?? []).map((m) => m.name).filter((n): n is string => n !== undefined);
    const where = fk.columns.map((c) => `${quoteId(c)} <=> ?`).join(' AND ');
    // Strictly newer: a child of the delete's own version is older than it (fk-parents.ts olderThanDelete) and goes with the cascade.
    const [rows] = (await session.roundTrip([{ sql: `SELECT ${exactSelect(cols, info.columnTypes, quoteId)} FROM ${tableRef(fk.schema, fk.table)} WHERE ${where} AND ${quoteId(column)} > ? FOR UPDATE`, params: [...values, fromWire(bound)] }])) as [mysql.RowDataPacket[]];
    for (const r of rows) {
      const image = decodeQueryRow(r as Record<string, unknown>, info.columnTypes);
      const version = versionOf(image[column], typeOf(info.columnTypes, column));
      if (version === null || version === undefined) continue;
      const key: Row = {};
      for (const c of info.primaryKey) key[c] = image[c] ?? null;
      out.push({ schema: fk.schema, table: fk.table, key, version, image, ...from });
    }
  }
  return out;
}

/** What a unique loser's removal takes along: the rows that wait for its key, and their tombstones (LOSER_ORIGIN, just below each one's version). */
export interface Removed {
  children: WaitingChild[];
  tombstones: Tombstone[];
}

/** How many levels of children a unique loser's removal stashes (a cycle of keys, a deep tree). */
const MAX_REMOVAL_DEPTH = 16;
/** At most this many rows a removal reads and stashes, the first by primary key per query (the rest go as its delete takes them; README, Foreign keys). */
const MAX_REMOVAL_CHILDREN = 10_000;

/**
 * Every row the delete of `parent` (a row of the table `fks` reference) will take along, at every
 * level — its children through every key but SET NULL ones (CASCADE deletes them, RESTRICT / NO ACTION
 * children are removed first, fk-conflict.ts), their own children likewise —, each with its image and
 * its own version (its table's version column; rows without one are not stashed): read, locked,
 * before DRC removes a unique loser (Op.removal). No origin deleted that parent, and its key's newest
 * image decides whether it comes back: its children wait for it, whatever their version, as in an
 * ezone where that newer image came first and the parent was never removed. `to`: the parent's key
 * changed before it lost (fk-key-change.ts) — its children through ON UPDATE CASCADE keys wait with
 * their references at `to`'s values, where the origin's cascade put them.
 */
export async function removedChildren(session: PipelinedSession, ctx: FkContext, fks: ForeignKey[], parent: Row, from: { origin: string; txId: string }, to?: Row, cap = MAX_REMOVAL_CHILDREN): Promise<Removed> {
  const out: Removed = { children: [], tombstones: [] };
  const seen = new Set<string>();
  let read = 0;
  let level: { fks: ForeignKey[]; parents: Row[] }[] = [{ fks, parents: [parent] }];
  for (let depth = 0; depth < MAX_REMOVAL_DEPTH && level.length > 0; depth++) {
    const next: typeof level = [];
    for (const { fks: keys, parents } of level) {
      for (const fk of keys) {
        const info = await ctx.tables.get(fk.schema, fk.table);
        if (fk.onDelete === 'SET NULL' || !info || info.primaryKey.length === 0) continue;
        const column = ctx.versionColumnOf(fk.schema, fk.table);
        const cols = (info.columnMeta ?? []).map((m) => m.name).filter((n): n is string => n !== undefined);
        // The cap, enforced per query (LIMIT, primary-key order): every ezone stashes the same rows.
        const rows = await childrenOf(session, fk, info, parents, exactSelect(cols, info.columnTypes, quoteId), cap - read);
        read += rows.length;
        const found: Row[] = [];
        for (const { key, image } of unvisited(fk, info, rows, seen)) {
          found.push(image);
          const version = column === null ? undefined : versionOf(image[column], typeOf(info.columnTypes, column));
          if (version === null || version === undefined) continue;
          const moved = depth === 0 && to && fk.onUpdate === 'CASCADE' ? { ...image, ...Object.fromEntries(fk.columns.map((c, i) => [c, to[fk.refColumns[i] as string] ?? null])) } : image;
          out.children.push({ schema: fk.schema, table: fk.table, key, version, image: moved, ...from });
          // Removed by the loser's removal, not deleted: a write of its own child meets a loser's tombstone and waits behind it (fk-parents.ts).
          const stone = justBelow(version);
          if (stone !== undefined) out.tombstones.push({ schema: fk.schema, table: fk.table, key, version: stone, origin: LOSER_ORIGIN, identity: tombstoneIdentity(info) });
        }
        if (read >= cap) return out;
        if ((info.referencedBy ?? []).length > 0 && found.length > 0) next.push({ fks: info.referencedBy ?? [], parents: found });
      }
    }
    level = next;
  }
  return out;
}
