/**
 * One level of a parent's children, read with a lock: the rows of a child table whose foreign key
 * references any of `parents`. Shared by the traversals that look ahead of a delete (fk-cascade.ts
 * cascadeTombstones, fk-waiting.ts removedChildren): `WHERE fk IN (…)` in chunks of parent keys,
 * pipelined, each chunk in primary-key order and at most `limit` rows in all — so a capped traversal
 * reads the same rows in every ezone holding the same rows (README, Foreign keys), and never more.
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import { quoteId, tableRef, type Statement } from '../db/sql.js';
import type { ForeignKey } from '../db/table-keys.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { decodeQueryRow } from '../model/types/row.js';
import { fromWire, type Row } from '../model/value.js';
import type { TableInfo } from './table-cache.js';

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
