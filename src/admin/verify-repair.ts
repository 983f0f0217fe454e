/**
 * `drc verify --repair`: re-apply the last-writer-wins winner of one differing key through the normal
 * apply path (marker first, so the repair is not shipped again). Whether an ezone already holds the
 * winner is decided by the server's row digest (verify-sql.ts), never by the driver's decoded values,
 * so a difference only exact comparison sees is repaired too.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { versionColumnOf } from '../config/tables.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import { keyIdentityOf } from '../db/key-identity.js';
import { findTombstones } from '../db/tombstones.js';
import type { RepairApplier } from '../model/ports.js';
import { compareImages } from '../model/types/order.js';
import type { Row } from '../model/value.js';
import { compareVersions, versionOf } from '../model/version.js';
import { keyDigest, keyRow, type HexKey, type Pools } from './verify-chunks.js';
import type { VerifyTable } from './verify-tables.js';

/** How `--repair` writes into one ezone: the apply path's single-change entry point, handed in by cli/. */
export type RepairApplierFactory = (ezone: string, pool: mysql.Pool) => Promise<RepairApplier>;

/** What a repair did: the ezone whose row (or delete) won, and the ezones changed. */
export interface Repaired {
  winner: string;
  deleted: boolean;
  changed: string[];
  /**
   * Ezones that still differ from the winner after the repair was applied (read back by digest): the
   * apply path took the change as a no-op or wrote something else. Absent when every ezone matches.
   */
  stillDifferent?: string[];
}

interface View {
  /** The row's written columns (generated ones are the server's), decoded; null: no row. */
  row: Row | null;
  digest: string | null;
}

async function viewOf(pool: mysql.Pool, t: VerifyTable, hex: HexKey): Promise<View> {
  return { row: await keyRow(pool, t, hex, t.columns.filter((c) => !c.generated)), digest: await keyDigest(pool, t, hex) };
}

async function newestTombstone(pools: Pools, t: VerifyTable, key: Row): Promise<{ ezone: string; version: string } | undefined> {
  let newest: { ezone: string; version: string } | undefined;
  for (const [ezone, pool] of pools) {
    const conn = await pool.getConnection();
    try {
      const [found] = await findTombstones(conn, t.schema, t.table, [key], keyIdentityOf(t.columns, t.types));
      if (found && (!newest || compareVersions(found.version, newest.version) > 0)) newest = { ezone, version: found.version };
    } catch (err) {
      if (!isNoSuchTable(err)) throw err; // no daemon has run in this ezone yet: it holds no tombstones
    } finally {
      conn.release();
    }
  }
  return newest;
}

/**
 * The winner is the newest image (version, then content) among the ezones, unless a tombstone in any
 * ezone is at least as new: then the row is deleted everywhere. Applied to every ezone that disagrees.
 */
export async function repair(pools: Pools, config: Config, t: VerifyTable, hex: HexKey, key: Row, repairer: RepairApplierFactory): Promise<Repaired> {
  const { schema, table } = t;
  const vc = versionColumnOf(config, schema, table);
  const views = new Map<string, View>();
  for (const [ezone, pool] of pools) views.set(ezone, await viewOf(pool, t, hex));
  let winner: { ezone: string; row: Row; digest: string | null } | undefined;
  for (const [ezone, { row, digest }] of views) {
    if (!row) continue;
    const v = vc ? versionOf(row[vc]) : undefined;
    if (!winner || compareImages(v, row, vc ? versionOf(winner.row[vc]) : undefined, winner.row) > 0) winner = { ezone, row, digest };
  }
  const newestDelete = await newestTombstone(pools, t, key);
  const winnerVersion = winner && vc ? versionOf(winner.row[vc]) : undefined;
  const deleted = !winner || (newestDelete !== undefined && compareVersions(newestDelete.version, winnerVersion ?? null) >= 0);
  const changed: string[] = [];
  const stillDiffer: string[] = [];
  for (const [ezone, pool] of pools) {
    const local = views.get(ezone)!;
    if (deleted ? local.row === null : local.digest === winner!.digest) continue;
    const applier = await repairer(ezone, pool);
    const change = deleted
      ? { schema, table, op: 'delete' as const, key, before: local.row ?? key, version: newestDelete?.version ?? winnerVersion ?? '0' }
      : { schema, table, op: 'insert' as const, key, after: winner!.row, ...(winnerVersion !== undefined ? { version: winnerVersion } : {}) };
    await applier.apply(change, deleted ? (newestDelete?.ezone ?? ezone) : winner!.ezone, {
      origin: deleted ? (newestDelete?.ezone ?? '-') : winner!.ezone,
      incomingVersion: deleted ? (newestDelete?.version ?? null) : (winnerVersion ?? null),
      localVersion: local.row && vc ? (versionOf(local.row[vc]) ?? null) : null,
      incoming: deleted ? null : winner!.row,
      local: local.row,
    });
    changed.push(ezone);
    const now = await keyDigest(pool, t, hex);
    if (deleted ? now !== null : now !== winner!.digest) stillDiffer.push(ezone);
  }
  return { winner: deleted ? (newestDelete?.ezone ?? '-') : winner!.ezone, deleted, changed, ...(stillDiffer.length > 0 ? { stillDifferent: stillDiffer } : {}) };
}
