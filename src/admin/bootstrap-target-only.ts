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
 * columns, or DATETIME ones where SOURCE's and TARGET's global time zone is UTC (zoneIsUtc).
 */
import type mysql from 'mysql2/promise';
import { quoteId, tableRef } from '../db/sql.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import { foreignKeysOf } from '../db/table-keys.js';
import type { PlannedTable } from './bootstrap-preflight.js';
import { keyDigest, type HexKey } from './verify-chunks.js';
import { keyBind, keyCompare, keyRead } from './verify-sql.js';
import { versionAsValue } from '../model/version.js';

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

const UTC_NAMES = new Set(['+00:00', '-00:00', '+0:00', 'utc', 'gmt', 'etc/utc', 'etc/gmt', 'universal', 'zulu', 'coordinated universal time']);

/**
 * Whether a server whose @@global.time_zone is `global` (and @@system_time_zone `system`) has its
 * applications' sessions write DATETIME values in UTC (as the horizon is): a DATETIME version holds the
 * writer's wall clock, and at UTC−8 every write of the last 8 hours would look older than the horizon.
 * Pure.
 */
export function zoneIsUtc(global: string, system: string): boolean {
  const g = global.trim().toLowerCase();
  return UTC_NAMES.has(g) || (g === 'system' && UTC_NAMES.has(system.trim().toLowerCase()));
}

/** zoneIsUtc for this server's global time zone. */
export async function writesUtc(pool: mysql.Pool): Promise<boolean> {
  const [[r]] = await pool.query<mysql.RowDataPacket[]>('SELECT @@global.time_zone AS g, @@system_time_zone AS s');
  return zoneIsUtc(String(r!.g), String(r!.s));
}

/**
 * Whether SOURCE holds a quarantined transaction writing `schema.table` (apply/quarantine.ts): set
 * aside while its stream's heartbeats went on, so the horizon does not cover it — a row it writes may
 * be absent in SOURCE and newer nothing. No rows of that table are removed then.
 */
export async function quarantineOpen(source: Pick<mysql.Pool, 'query'>, schema: string, table: string): Promise<boolean> {
  try {
    const [rows] = await source.query<mysql.RowDataPacket[]>("SELECT 1 FROM drc_meta.quarantine WHERE state = 'quarantined' AND JSON_CONTAINS(tables_json, JSON_QUOTE(?)) LIMIT 1", [`${schema}.${table}`]);
    return rows.length > 0;
  } catch (err) {
    if (isNoSuchTable(err)) return false;
    throw err;
  }
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
 * removed as rows only TARGET holds (same horizon, same delete at their own version). An orphan SOURCE
 * still holds has its parent on TARGET's stream: left to the final comparison. Returns the rows removed,
 * and those SOURCE lacks that were kept, with why (orphanWarning).
 */
export async function removeOrphans(deps: { source: mysql.Pool; target: mysql.Pool; remover: TargetOnlyRemover; horizon: (p: PlannedTable) => Promise<string | undefined> }, p: PlannedTable): Promise<OrphanOutcome> {
  const { schema, table } = p.table;
  const orphans = new Map<string, HexKey>();
  for (const fk of (await foreignKeysOf(deps.target, schema, table)).outgoing) {
    const set = fk.columns.map((c) => `c.${quoteId(c)} IS NOT NULL`).join(' AND ');
    const join = fk.columns.map((c, i) => `r.${quoteId(fk.refColumns[i]!)} = c.${quoteId(c)}`).join(' AND ');
    const [rows] = await deps.target.query<mysql.RowDataPacket[]>({
      sql: `SELECT ${p.table.pk.map(keyRead).join(', ')} FROM ${tableRef(schema, table)} AS c WHERE ${set} AND NOT EXISTS (SELECT 1 FROM ${tableRef(fk.refSchema, fk.refTable)} AS r WHERE ${join})`,
      rowsAsArray: true,
    });
    for (const r of rows as unknown as unknown[][]) {
      const key = r.map(String);
      orphans.set(JSON.stringify(key), key);
    }
  }
  if (orphans.size === 0) return { removed: 0, kept: 0 };
  const gone = await absentIn(deps.source, p, [...orphans.values()]);
  if (gone.length === 0) return { removed: 0, kept: 0 };
  const horizon = p.timeVersioned ? await deps.horizon(p) : undefined;
  if (horizon === undefined) return { removed: 0, kept: gone.length, why: p.timeVersioned ? 'SOURCE has no horizon for it (no heartbeat yet from every ezone, or a quarantined transaction of the table)' : 'its version column is not the time of the write' };
  const removed = await removePaged(deps.target, deps.remover, p, keyList(p, gone, false), horizon);
  return { removed, kept: gone.length - removed, why: "newer than SOURCE's horizon (--keep-recent-ms)" };
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
