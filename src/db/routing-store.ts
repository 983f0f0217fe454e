/**
 * drc_meta.routing (model/routing.ts): seeded from the config's `ownership.routing` the first time,
 * read by the daemon, `drc routing`, the guards and `drc switchover`, changed only by switchovers.
 * Rows belong to a topology, named by its kafka.topicPrefix (servers shared by several topologies,
 * as under tests, keep each one's routing apart).
 */
import mysql from 'mysql2/promise';
import { errnoOf } from './mysql-errors.js';
import type { Config } from '../config/schema.js';
import { connectionOptions } from './connect.js';
import { RoutingBook, routeOfRow, seedRoutes, type ForcedFlip, type ShardRoute, type ShardState } from '../model/routing.js';
import { ensureMetaSchema } from './meta-schema.js';

type Queryable = Pick<mysql.Pool | mysql.Connection | mysql.PoolConnection, 'query'>;

/** What the routing store reads of the config: the topology's name and its ownership rules. */
export interface RoutingScope {
  topology: string;
  ownership: Pick<Config['ownership'], 'routing' | 'shardCount'>;
}

/** The scope of a config: its topic prefix names the topology. */
export const scopeOf = (config: Pick<Config, 'kafka' | 'ownership'>): RoutingScope => ({ topology: config.kafka.topicPrefix, ownership: config.ownership });

/**
 * The routing rows of the topology in the other ezones' databases that can be reached (one list per
 * ezone holding some): what a new or restored ezone copies instead of the config's version 1.
 */
export type PeerRouting = () => Promise<PeerCopy[]>;

/** One peer's routing rows, and its forced switchover records (with their cuts) that judge late rows. */
export interface PeerCopy {
  routes: ShardRoute[];
  forced: mysql.RowDataPacket[];
}

/** The columns of a forced switchover's record a joining ezone copies (forcedRecordsOf). */
const FORCED_COLUMNS = ['id', 'topology', 'shard_from', 'shard_to', 'from_ezone', 'to_ezone', 'state', 'ban_version', 'flip_version', 'reason', 'started_at', 'updated_at', 'cut_offset'];

/**
 * What a new ezone copies from a peer: its routing rows and its forced switchovers' records. Without
 * the records it would learn of a forced flip only from the new owner's stream, in no fixed order
 * against the old owner's, and flag the late rows it applies before that record arrives by chance.
 */
export async function peerCopyOf(db: Queryable, topology: string): Promise<PeerCopy> {
  const routes = await readRouting(db, topology);
  try {
    const [forced] = (await db.query(
      `SELECT ${FORCED_COLUMNS.join(', ')} FROM drc_meta.switchovers WHERE topology = ? AND state = 'done' AND ban_version IS NULL AND flip_version IS NOT NULL`,
      [topology],
    )) as [mysql.RowDataPacket[], unknown];
    return { routes, forced };
  } catch (err) {
    // A peer of an older schema (no cut_offset: ER_BAD_FIELD_ERROR 1054, or no switchovers table: 1146)
    // still gives its routing: a forced flip's record then arrives with the new owner's stream.
    if (errnoOf(err) === 1054 || errnoOf(err) === 1146) return { routes, forced: [] };
    throw err;
  }
}

/** PeerRouting by connecting to every other ezone of the config (unreachable ones, or ones without drc_meta, are skipped). */
export function peerRoutingOf(config: Pick<Config, 'ezones' | 'kafka'>, ezone: string): PeerRouting {
  return async () => {
    const out: PeerCopy[] = [];
    for (const [name, ez] of Object.entries(config.ezones)) {
      if (name === ezone) continue;
      let conn: mysql.Connection | undefined;
      try {
        conn = await mysql.createConnection(connectionOptions(ez.mysql));
        const copy = await peerCopyOf(conn, config.kafka.topicPrefix);
        if (copy.routes.length > 0) out.push(copy);
      } catch {
        // Unreachable, or no drc_meta there yet: nothing to copy from it.
      } finally {
        await conn?.end().catch(() => undefined);
      }
    }
    return out;
  };
}

/**
 * Fill drc_meta.routing when it holds no row of the topology yet; returns the rows written (0 when it
 * held some, here or by replication). When a reachable peer already has the topology's routing (a
 * new or restored ezone joining after switchovers), its rows are copied, versions included — the
 * newest of the peers', with that peer's forced switchover records (peerCopyOf); else the version-1 rows of the config's `ownership.routing`. Every ezone
 * seeds the same version-1 rows from the same config, so seeds that cross in replication are
 * identical rows, not conflicts.
 */
export async function seedRouting(db: Queryable, scope: RoutingScope, peers?: PeerRouting): Promise<number> {
  const [[row]] = (await db.query('SELECT COUNT(*) AS n FROM drc_meta.routing WHERE topology = ?', [scope.topology])) as [mysql.RowDataPacket[], unknown];
  if (Number(row!.n) > 0) return 0;
  const copied = (await peers?.()) ?? [];
  const newest = (routes: ShardRoute[]) => routes.reduce((m, r) => Math.max(m, r.version), 0);
  const source = copied.sort((x, y) => newest(y.routes) - newest(x.routes))[0];
  const seed = source?.routes ?? seedRoutes(scope.ownership.routing, scope.ownership.shardCount);
  // The peer's forced switchovers first: the routing rows, once there, are what the daemon reads.
  for (const r of source?.forced ?? []) {
    await db.query(`INSERT IGNORE INTO drc_meta.switchovers (${FORCED_COLUMNS.join(', ')}) VALUES (${FORCED_COLUMNS.map(() => '?').join(', ')})`, FORCED_COLUMNS.map((c) => r[c] ?? null));
  }
  let written = 0;
  for (let i = 0; i < seed.length; i += 1000) {
    const part = seed.slice(i, i + 1000);
    const [res] = (await db.query(
      `INSERT IGNORE INTO drc_meta.routing (topology, shard, owner, state, version, prev_owner, moving_to) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      part.flatMap((r) => [scope.topology, r.shard, r.owner, r.state, r.version, r.prevOwner, r.movingTo]),
    )) as [mysql.ResultSetHeader, unknown];
    written += res.affectedRows;
  }
  return written;
}

/** Every shard's routing row, by shard. */
export async function readRouting(db: Queryable, topology: string): Promise<ShardRoute[]> {
  const [rows] = (await db.query('SELECT shard, owner, state, version, prev_owner, moving_to FROM drc_meta.routing WHERE topology = ? ORDER BY shard', [topology])) as [mysql.RowDataPacket[], unknown];
  return rows.map((r) => routeOfRow(r)).filter((r): r is ShardRoute => r !== undefined);
}

/**
 * The forced switchovers this database has applied: drc_meta.switchovers done with a flip and no ban
 * (a planned switchover bans before it flips; only `--force` flips without).
 */
export async function readForcedFlips(db: Queryable, topology: string): Promise<ForcedFlip[]> {
  const stmt = forcedFlipsStatement(topology);
  const [rows] = (await db.query(stmt.sql, stmt.params)) as [mysql.RowDataPacket[], unknown];
  return forcedFlipsOf(rows);
}

/** A forced flip of a topology (its `?`): a switchover done with a flip and no ban (`s`: drc_meta.switchovers). */
const FORCED_FLIP = "s.topology = ? AND s.state = 'done' AND s.ban_version IS NULL AND s.flip_version IS NOT NULL";

/**
 * The read of the forced switchovers (of the shards taken from `origins` when given), as the daemon polls
 * it and as an applier makes it in each transaction (a plain read: a locking one would hold the
 * topology's switchover rows for the whole transaction, and a planned switchover's writes of them —
 * applied by the same stream, committed in stream order — would wait behind it).
 */
export function forcedFlipsStatement(topology: string, origins?: readonly string[]): { sql: string; params: string[] } {
  const from = origins === undefined ? '' : ` AND s.from_ezone IN (${origins.map(() => '?').join(', ')})`;
  return {
    sql: `SELECT id, shard_from, shard_to, from_ezone, to_ezone, flip_version, cut_offset FROM drc_meta.switchovers s WHERE ${FORCED_FLIP}${from}`,
    params: [topology, ...(origins ?? [])],
  };
}

/**
 * A statement that fails (ER_SUBQUERY_NO_1_ROW, 1242) when the topology has a forced flip taking shards
 * from one of `known`'s origins whose id is not among that origin's, and returns one NULL otherwise:
 * sent before COMMIT in the same round trip, its error stops the COMMIT (a multi-statement query runs no
 * statement after a failed one). The scalar subquery joins each such flip with two rows: any new flip
 * makes it return more than one row.
 */
export function newForcedFlipStatement(topology: string, known: ReadonlyMap<string, readonly string[]>): { sql: string; params: string[] } {
  const params: string[] = [topology];
  const perOrigin = [...known].map(([origin, ids]) => {
    params.push(origin, ...ids);
    return ids.length === 0 ? 's.from_ezone = ?' : `(s.from_ezone = ? AND s.id NOT IN (${ids.map(() => '?').join(', ')}))`;
  });
  return {
    sql: `SELECT (SELECT 1 FROM drc_meta.switchovers s CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2) two WHERE ${FORCED_FLIP} AND (${perOrigin.join(' OR ')})) AS drc_new_forced_flip`,
    params,
  };
}

/** Rows of forcedFlipsStatement → the forced flips. */
export function forcedFlipsOf(rows: readonly mysql.RowDataPacket[]): ForcedFlip[] {
  return rows.map((r) => ({
    switchover: String(r.id),
    from: Number(r.shard_from),
    to: Number(r.shard_to),
    fromEzone: String(r.from_ezone),
    toEzone: String(r.to_ezone),
    version: Number(r.flip_version),
    ...(r.cut_offset === null || r.cut_offset === undefined ? {} : { cut: String(r.cut_offset) }),
  }));
}

/** The routing version this database has applied (0: not seeded). */
export async function routingVersion(db: Queryable, topology: string): Promise<number> {
  const [[row]] = (await db.query('SELECT COALESCE(MAX(version), 0) AS v FROM drc_meta.routing WHERE topology = ?', [topology])) as [mysql.RowDataPacket[], unknown];
  return Number(row!.v);
}

export interface RoutingChange {
  from: number;
  to: number;
  owner: string;
  state: ShardState;
  version: number;
  /** While banned: where the shards move. */
  movingTo: string | null;
  /** Forget the previous owner (a forced switchover: its late writes are violations). */
  forgetPrevious?: boolean;
}

/**
 * The statement of one routing change (part of the caller's transaction): the shards' previous owner
 * is kept (its writes made before the change are not violations where they arrive late).
 */
export function routingChangeStatement(topology: string, c: RoutingChange): { sql: string; params: unknown[] } {
  return {
    sql: `UPDATE drc_meta.routing SET prev_owner = ${c.forgetPrevious ? 'NULL' : 'owner'}, owner = ?, state = ?, version = ?, moving_to = ? WHERE topology = ? AND shard BETWEEN ? AND ?`,
    params: [c.owner, c.state, c.version, c.movingTo, topology, c.from, c.to],
  };
}

/**
 * drc_meta created or migrated, the routing seeded when it holds nothing yet, and read: the routing in
 * force in this database now.
 */
export async function openRouting(pool: mysql.Pool, scope: RoutingScope, peers?: PeerRouting): Promise<RoutingBook> {
  const conn = await pool.getConnection();
  try {
    await ensureMetaSchema(conn);
    await seedRouting(conn, scope, peers);
    const book = new RoutingBook(await readRouting(conn, scope.topology));
    book.setForced(await readForcedFlips(conn, scope.topology));
    return book;
  } finally {
    conn.release();
  }
}

/**
 * The switchover of the topology to show (drc_switchover_state, /healthz): an unfinished one first
 * (started_at comes from the clock of whichever server wrote it: skewed clocks must not hide it behind
 * a finished one), else the newest, from this database's drc_meta.switchovers.
 */
export async function latestSwitchover(db: Queryable, topology: string): Promise<{ id: string; state: string } | undefined> {
  const [rows] = (await db.query(
    "SELECT id, state FROM drc_meta.switchovers WHERE topology = ? ORDER BY state NOT IN ('done', 'rolled-back') DESC, started_at DESC, id DESC LIMIT 1",
    [topology],
  )) as [mysql.RowDataPacket[], unknown];
  const r = rows[0];
  return r ? { id: String(r.id), state: String(r.state) } : undefined;
}
