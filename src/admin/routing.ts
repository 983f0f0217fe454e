/**
 * `drc routing`: the routing each ezone has applied (drc_meta.routing): its version, owners by shard
 * range, bans, the newest switchover, and where it differs from the config (which only seeds it).
 */
import mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import { latestSwitchover, readRouting } from '../db/routing-store.js';
import { compressRoutes, routingDrift, seedRoutes, type RouteRange, type ShardRoute } from '../model/routing.js';
import { unreachableMessage } from './unreachable.js';

export interface EzoneRouting {
  ezone: string;
  /** Routing version applied here (0: not seeded yet: no daemon has run against this database). */
  version: number;
  /** Owners by shard range. */
  owners: RouteRange[];
  /** Shard ranges under a write ban (a switchover is moving them). */
  bans: RouteRange[];
  /** Shard ranges whose owner or state differs from the config's ownership.routing. */
  drift: RouteRange[];
  switchover?: { id: string; state: string };
  /** The database could not be reached or read. */
  error?: string;
}

export interface RoutingReport {
  /** Every reachable ezone has applied the same version. */
  consistent: boolean;
  ezones: EzoneRouting[];
}

/** The routing rows of one ezone (undefined: drc_meta.routing does not exist there yet). */
export async function readEzoneRouting(config: Config, ezone: string): Promise<{ routes: ShardRoute[]; switchover?: { id: string; state: string } } | undefined> {
  const ez = config.ezones[ezone]!;
  const conn = await mysql.createConnection(connectionOptions(ez.mysql));
  try {
    const routes = await readRouting(conn, config.kafka.topicPrefix);
    const switchover = await latestSwitchover(conn, config.kafka.topicPrefix);
    return { routes, ...(switchover ? { switchover } : {}) };
  } catch (err) {
    if (isNoSuchTable(err)) return undefined;
    throw err;
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** The routing report of one ezone's rows against the config. */
export function describeRouting(ezone: string, routes: readonly ShardRoute[], config: Pick<Config, 'ownership'>): EzoneRouting {
  const ranges = compressRoutes(routes);
  const configured = seedRoutes(config.ownership.routing, config.ownership.shardCount);
  return {
    ezone,
    version: routes.reduce((v, r) => Math.max(v, r.version), 0),
    owners: ranges,
    bans: ranges.filter((r) => r.state === 'banned'),
    drift: routes.length === 0 ? [] : routingDrift(configured, routes),
  };
}

export async function routingReport(config: Config): Promise<RoutingReport> {
  const ezones = await Promise.all(
    Object.keys(config.ezones).map(async (ezone): Promise<EzoneRouting> => {
      try {
        const read = await readEzoneRouting(config, ezone);
        const described = describeRouting(ezone, read?.routes ?? [], config);
        return { ...described, ...(read?.switchover ? { switchover: read.switchover } : {}) };
      } catch (err) {
        return { ezone, version: 0, owners: [], bans: [], drift: [], error: unreachableMessage(ezone, config.ezones[ezone]!.mysql, err) };
      }
    }),
  );
  const versions = new Set(ezones.filter((e) => !e.error).map((e) => e.version));
  return { consistent: versions.size <= 1, ezones };
}
