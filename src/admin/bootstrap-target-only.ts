/**
 * Rows only TARGET holds, removed by a re-seed (README "Adding an ezone": re-seeding). Each chunk read
 * from SOURCE covers a key range; a row TARGET holds in that range that the chunk lacks was not in
 * SOURCE when the chunk was read. It is either a write SOURCE has not received yet (written in TARGET
 * or a third ezone, on its way), or one SOURCE has decided away (deleted, or beaten by a delete) —
 * stale. They are told apart by the **horizon**, read from SOURCE just before the chunk: the oldest of
 * the newest heartbeats SOURCE applied from each other ezone (`drc_meta.lag`), less a margin. A stream
 * applies in order, so SOURCE then held every write any ezone committed before its heartbeat; a row
 * whose version (the time of its write) is at most the horizon is therefore known to SOURCE, and its
 * absence there means SOURCE's newest state of the key is "no row". It is deleted as a delete at the
 * row's own version (apply/copy-applier.ts removeTargetOnly): newest wins, so any newer write of the key
 * still lands over its tombstone, and the row updated meanwhile is newer and stays. A row newer than
 * the horizon is kept: the final comparison reports it if it really is stale. The margin covers a
 * transaction that stamped its version before a heartbeat and committed after it, and clock skew.
 * Only tables versioned by the time of the write (bootstrap-preflight.ts `timeVersioned`): TIMESTAMP
 * columns, or DATETIME ones where SOURCE's and TARGET's global time zone is UTC (db/time-zone.ts zoneIsUtc).
 */
import type mysql from 'mysql2/promise';
import { quoteId, tableRef } from '../db/sql.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import { foreignKeysOf } from '../db/table-keys.js';
import type { PlannedTable } from './bootstrap-preflight.js';
import { keyDigest, keyRow, type HexKey } from './verify-chunks.js';
import { keyBind, keyCompare, keyRead } from './verify-sql.js';
import { compareVersions, maxVersion, versionAsValue } from '../model/version.js';
import { keyIdentityOf } from '../db/key-identity.js';
import { deleteTombstonesStatement } from '../db/tombstones.js';
import type { ForeignKey } from '../db/table-keys.js';
import type { Row } from '../model/value.js';

/** What bootstrap asks of the target side to remove rows only it holds (apply/copy-applier.ts). */
export interface TargetOnlyRemover {
  removeTargetOnly(schema: string, table: string, versionColumn: string, where: { sql: string; params: unknown[] }, horizon: string): Promise<number>;
}

/**
 * The horizon (epoch microseconds, as versions of time columns are) SOURCE's knowledge reaches: the
 * oldest newest heartbeat it applied from each of `origins`, less `marginMs`; undefined while SOURCE
 * has applied no heartbeat of one of them (nothing is removed then).
 */
export async function readHorizon(source: mysql.Pool, origins: string[], marginMs: number): Promise<string | undefined> {
  if (origins.length === 0) return undefined;
  const [[r]] = await source.query<mysql.RowDataPacket[]>(
    `SELECT COUNT(*) AS n, MIN(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', sent_at)) AS us FROM drc_meta.lag WHERE origin IN (${origins.map(() => '?').join(', ')})`,
    origins,
  );
  if (Number(r!.n) < origins.length || r!.us === null) return undefined;
  return (BigInt(String(r!.us)) - BigInt(marginMs) * 1000n).toString();
}

/** `(k…) [NOT] IN ((…), …)` over these keys, bound as hex (verify-sql.ts). Pure. */
export function keyList(p: PlannedTable, keys: HexKey[], not: boolean): { sql: string; params: unknown[] } {
  const pk = p.table.pk;
  if (keys.length === 0) return { sql: not ? 'TRUE' : 'FALSE', params: [] };
  const one = pk.length === 1 ? keyBind(pk[0]!) : `(${pk.map(keyBind).join(', ')})`;
  const cols = pk.length === 1 ? quoteId(pk[0]!.name) : `(${pk.map((c) => quoteId(c.name)).join(', ')})`;
  return { sql: `${cols} ${not ? 'NOT IN' : 'IN'} (${keys.map(() => one).join(', ')})`, params: keys.flat() };
}

/**
 * The rows of TARGET in a chunk's range — after `after` (exclusive; undefined: from the start) up to
 * `through` (inclusive; undefined: to the end) — whose key is not among the chunk's `keys`. Pure.
 */
export function targetOnlyWhere(p: PlannedTable, after: HexKey | undefined, through: HexKey | undefined, keys: HexKey[]): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (after) {
    parts.push(keyCompare(p.table.pk, '>'));
    params.push(...after);
  }
  if (through) {
    parts.push(keyCompare(p.table.pk, '<='));
    params.push(...through);
  }
  const rest = keyList(p, keys, true);
  parts.push(rest.sql);
  params.push(...rest.params);
  return { sql: parts.join(' AND '), params };
}

/** Rows only TARGET holds are removed this many at a time (each page one transaction). */
export const REMOVE_PAGE = 500;

/**
 * Remove the rows of TARGET `where` selects whose version is at most `horizon` (in the SQL: nothing
 * newer is read), page by page in TARGET's key order: only keys are read to page (no whole rows, no
 * BLOBs, however many rows SOURCE lacks), and each page is one transaction of the remover's. Returns
 * the rows removed.
 */
export async function removePaged(target: Pick<mysql.Pool, 'query'>, remover: TargetOnlyRemover, p: PlannedTable, where: { sql: string; params: unknown[] }, horizon: string): Promise<number> {
  const pk = p.table.pk;
  const vc = p.versionColumn;
  if (vc === null) return 0; // never timeVersioned: nothing tells a stale row from a fresh one
  const bound = versionAsValue(horizon, p.table.columns.find((c) => c.name === vc)?.dataType);
  let removed = 0;
  for (let last: HexKey | undefined; ; ) {
    const parts = [where.sql, ...(bound === undefined ? [] : [`${quoteId(vc)} <= ?`]), ...(last ? [keyCompare(pk, '>')] : [])];
    const params = [...where.params, ...(bound === undefined ? [] : [bound]), ...(last ?? [])];
    const [rows] = await target.query<mysql.RowDataPacket[]>({
      sql: `SELECT ${pk.map(keyRead).join(', ')} FROM ${tableRef(p.table.schema, p.table.table)} WHERE ${parts.map((x) => `(${x})`).join(' AND ')} ORDER BY ${pk.map((c) => quoteId(c.name)).join(', ')} LIMIT ${REMOVE_PAGE}`,
      values: params,
      rowsAsArray: true,
    });
    const keys = (rows as unknown as unknown[][]).map((r) => r.map(String));
    if (keys.length > 0) removed += await remover.removeTargetOnly(p.table.schema, p.table.table, vc, keyList(p, keys, false), horizon);
    if (keys.length < REMOVE_PAGE) return removed;
    last = keys[keys.length - 1];
  }
}

/** Whether SOURCE holds a row of `table` that `where` (over its own columns) selects: what the applier asks of SOURCE by a key's values. */
export const sourceHasOf =
  (source: Pick<mysql.Pool, 'query'>, table: { schema: string; table: string }) =>
  async (where: string, params: unknown[]): Promise<boolean> => {
    const [found] = await source.query<mysql.RowDataPacket[]>(`SELECT 1 FROM ${tableRef(table.schema, table.table)} WHERE ${where} LIMIT 1`, params);
    return found.length > 0;
  };

/** Of `keys` (hex, as keyRead gives them), those SOURCE does not hold now. */
export async function absentIn(pool: mysql.Pool, p: PlannedTable, keys: HexKey[]): Promise<HexKey[]> {
  const out: HexKey[] = [];
  for (const key of keys) if ((await keyDigest(pool, p.table, key)) === null) out.push(key);
  return out;
}

/**
 * A table on a cycle of foreign keys is copied with checks off (bootstrap-order.ts): a child copied
 * after a concurrent delete of its parent reached TARGET (whose cascade found no child yet) is left
 * there without its parent, while SOURCE's cascade removed it. After the copy, TARGET's rows of `p`
 * whose parent is missing through one of its foreign keys, and that SOURCE no longer holds, are
 * removed as deletes at their own version (apply/copy-applier.ts removeTargetOnly): those not newer
 * than their parent's delete tombstone in TARGET (the delete's cascade would have removed them, as the
 * apply path decides a child older than its parent's delete, fk-parents.ts olderThanDelete — the
 * versions compared only where both are times, comparableVersions), and the others up to SOURCE's
 * horizon, as rows only TARGET holds. An orphan SOURCE still holds has its parent on TARGET's stream:
 * left to the final comparison. Returns the rows removed, and those SOURCE lacks that were kept, with
 * why (orphanWarning).
 */
export async function removeOrphans(
  deps: { source: mysql.Pool; target: mysql.Pool; remover: TargetOnlyRemover; horizon: (p: PlannedTable) => Promise<string | undefined>; planned?: (schema: string, table: string) => PlannedTable | undefined },
  p: PlannedTable,
): Promise<OrphanOutcome> {
  const { schema, table } = p.table;
  const orphans = new Map<string, HexKey>();
  /** Per orphan: the newest delete tombstone of a parent it misses, when that version compares with its own. */
  const stones = new Map<string, string>();
  const childType = p.table.columns.find((c) => c.name === p.versionColumn)?.dataType;
  const fks = (await foreignKeysOf(deps.target, schema, table)).outgoing;
  /** The foreign keys (with a planned parent whose version compares) through which each orphan is one. */
  const through = new Map<string, { fk: (typeof fks)[number]; parent: NonNullable<ReturnType<NonNullable<typeof deps.planned>>> }[]>();
  for (const fk of fks) {
    const set = fk.columns.map((c) => `c.${quoteId(c)} IS NOT NULL`).join(' AND ');
    const join = fk.columns.map((c, i) => `r.${quoteId(fk.refColumns[i]!)} = c.${quoteId(c)}`).join(' AND ');
    const [rows] = await deps.target.query<mysql.RowDataPacket[]>({
      sql: `SELECT ${p.table.pk.map(keyRead).join(', ')} FROM ${tableRef(schema, table)} AS c WHERE ${set} AND NOT EXISTS (SELECT 1 FROM ${tableRef(fk.refSchema, fk.refTable)} AS r WHERE ${join})`,
      rowsAsArray: true,
    });
    const parent = deps.planned?.(fk.refSchema, fk.refTable);
    const parentType = parent?.table.columns.find((c) => c.name === parent.versionColumn)?.dataType;
    const compared = parent !== undefined && bothTimes(parentType, childType);
    for (const r of rows as unknown as unknown[][]) {
      const key = r.map(String);
      const id = JSON.stringify(key);
      orphans.set(id, key);
      if (compared) through.set(id, [...(through.get(id) ?? []), { fk, parent }]);
    }
  }
  if (orphans.size === 0) return { removed: 0, kept: 0 };
  const gone = await absentIn(deps.source, p, [...orphans.values()]);
  if (gone.length === 0) return { removed: 0, kept: 0 };
  // Parents' delete tombstones, only for the orphans SOURCE no longer holds (two round trips per key and foreign key).
  for (const key of gone) {
    const id = JSON.stringify(key);
    for (const { fk, parent } of through.get(id) ?? []) {
      const deleted = await parentDeleted(deps.target, p, parent, fk, key);
      if (deleted !== undefined && (!stones.has(id) || compareVersions(deleted, stones.get(id)) > 0)) stones.set(id, deleted);
    }
  }
  const horizon = p.timeVersioned ? await deps.horizon(p) : undefined;
  // Each orphan up to the newer of its bounds: its parent's delete, SOURCE's horizon.
  const byBound = new Map<string, HexKey[]>();
  for (const key of gone) {
    const bound = maxVersion(stones.get(JSON.stringify(key)), horizon);
    if (bound === undefined || bound === null) continue;
    byBound.set(bound, [...(byBound.get(bound) ?? []), key]);
  }
  let removed = 0;
  for (const [bound, keys] of byBound) removed += await removePaged(deps.target, deps.remover, p, keyList(p, keys, false), bound);
  if (removed === gone.length) return { removed, kept: 0 };
  if (horizon === undefined) return { removed, kept: gone.length - removed, why: p.timeVersioned ? 'newer than its parent’s delete, and SOURCE has no horizon for it (no heartbeat yet from every ezone, or a quarantined transaction of the table)' : 'newer than its parent’s delete (or none here), and its version column is not the time of the write' };
  return { removed, kept: gone.length - removed, why: "newer than its parent's delete (or none here) and than SOURCE's horizon (--keep-recent-ms)" };
}

const TEMPORAL = new Set(['datetime', 'timestamp']);
/** Versions of two columns compare (as the apply path's fk-parents.ts comparableVersions): both times. Pure. */
const bothTimes = (a: string | undefined, b: string | undefined): boolean => a !== undefined && b !== undefined && TEMPORAL.has(a.toLowerCase()) && TEMPORAL.has(b.toLowerCase());

/**
 * The newest delete tombstone (not a key change's, not a unique loser's removal) in TARGET of the
 * parent the orphan `key` of `p` references through `fk`; undefined when the key references other
 * columns than the parent's whole primary key (tombstones are kept by primary key) or it has none.
 */
async function parentDeleted(target: mysql.Pool, p: PlannedTable, parent: PlannedTable, fk: ForeignKey, key: HexKey): Promise<string | undefined> {
  const pk = parent.table.pk.map((c) => c.name);
  if (pk.length !== fk.refColumns.length || !pk.every((c) => fk.refColumns.includes(c))) return undefined;
  const refs = fk.columns.map((c) => p.table.columns.find((x) => x.name === c));
  if (refs.some((c) => c === undefined)) return undefined;
  const row = await keyRow(target, p.table, key, refs as typeof p.table.columns);
  if (!row) return undefined;
  const parentKey: Row = {};
  for (const c of pk) parentKey[c] = row[fk.columns[fk.refColumns.indexOf(c)]!] ?? null;
  const statement = deleteTombstonesStatement(fk.refSchema, fk.refTable, parentKey, keyIdentityOf(parent.table.columns, parent.table.types));
  try {
    const [stones] = await target.query<mysql.RowDataPacket[]>(statement.sql, statement.params);
    let newest: string | undefined;
    for (const r of stones) if (r.version !== null && r.version !== undefined && compareVersions(String(r.version), newest) > 0) newest = String(r.version);
    return newest;
  } catch (err) {
    if (isNoSuchTable(err)) return undefined;
    throw err;
  }
}

/** Orphans of a cycle's table SOURCE no longer holds, removed or kept (and why kept). */
export interface OrphanOutcome {
  removed: number;
  kept: number;
  why?: string;
}

/** The warning for orphans kept (the final comparison will report them): names the table, the cause and the fix. Pure. */
export function orphanWarning(table: string, o: OrphanOutcome): string | undefined {
  if (o.kept === 0) return undefined;
  return `${table}: ${o.kept} row(s) left in TARGET without their parent (deleted in SOURCE while this table on a foreign-key cycle was copied with checks off) and not removed: ${o.why ?? 'unknown'} — the final comparison reports them; run drc verify --repair once the streams have settled`;
}
