/**
 * Everything `drc bootstrap` checks before it writes anything (README "Adding an ezone"): the tables
 * (a primary key and a version column in SOURCE, the same columns in TARGET where the table exists),
 * TARGET's daemon (its heartbeat, an applied position for every other ezone), and the live stream's
 * start point — TARGET's applied offset of every origin, and SOURCE caught up to it for every origin
 * but itself, so that every change is either in the rows the copy reads or on TARGET's stream.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { versionColumnOf } from '../config/tables.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import { CheckFailedError } from '../errors.js';
import { changesTopic } from '../model/topics.js';
import { sleep } from './verify-chunks.js';
import { formatTableName, type TableName } from './verify-names.js';
import { describeTable, replicatedTables, type VerifyTable } from './verify-tables.js';

/** A table to copy: as SOURCE has it, and whether TARGET lacks it (created from SOURCE's DDL). */
export interface PlannedTable {
  table: VerifyTable;
  versionColumn: string;
  missingInTarget: boolean;
}

/** The tables to copy, or every reason some cannot be (each naming the table and the fix). */
export async function planTables(config: Config, from: string, to: string, source: mysql.Pool, target: mysql.Pool, names: TableName[] | undefined): Promise<{ tables: PlannedTable[]; problems: string[] }> {
  const tables: PlannedTable[] = [];
  const problems: string[] = [];
  for (const name of names ?? (await replicatedTables(source, config))) {
    const shown = formatTableName(name);
    const exists = await tableExists(target, name);
    const entries: [string, mysql.Pool][] = exists ? [[from, source], [to, target]] : [[from, source]];
    const pools = new Map(entries);
    const described = await describeTable(pools, name);
    if ('kind' in described) {
      problems.push(
        described.kind === 'skipped'
          ? `${shown}: no such table, or no primary key, in ezone ${from} — a row without a key cannot be copied exactly once; add a primary key, or leave the table out (--tables)`
          : `${shown}: ${described.detail} — make the columns of ${to} match ${from} (DDL is not replicated), then run bootstrap again`,
      );
      continue;
    }
    const vc = versionColumnOf(config, name.schema, name.table);
    if (vc === null || !described.columns.some((c) => c.name === vc)) {
      problems.push(
        `${shown}: ${vc === null ? `has no version column (tables.${shown}.versionColumn: null)` : `has no version column ${vc}`} — a copied row cannot be ordered against the live stream without one; copy it while nothing writes to it (mysqldump --no-create-info --replace), or give it a version column, and leave it out here (--tables)`,
      );
      continue;
    }
    tables.push({ table: described, versionColumn: vc, missingInTarget: !exists });
  }
  return { tables, problems };
}

async function tableExists(pool: mysql.Pool, name: TableName): Promise<boolean> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [name.schema, name.table]);
  return rows.length > 0;
}

/** Applied next offsets by origin, in this ezone's drc_meta (only positions in the config's topics). */
async function appliedOffsets(pool: mysql.Pool, config: Config, origins: string[]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (origins.length === 0) return out;
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT origin, next_offset FROM drc_meta.apply_position WHERE kafka_partition = 0 AND (${origins.map(() => '(origin = ? AND topic = ?)').join(' OR ')})`,
    origins.flatMap((o) => [o, changesTopic(config.kafka.topicPrefix, o)]),
  );
  for (const r of rows) out.set(String(r.origin), BigInt(String(r.next_offset)));
  return out;
}

export interface StartPointOptions {
  /** How long to wait for TARGET's daemon to have applied every origin, and SOURCE to catch up (ms). */
  waitMs: number;
}

/**
 * Check TARGET's daemon and choose the live stream's start point: TARGET's applied offset of every
 * other origin. Waits (up to `waitMs`) for a freshly started daemon's first positions and for SOURCE
 * to have applied every third origin up to TARGET's offset. Throws CheckFailedError naming what is
 * missing and the fix.
 */
export async function startPoint(config: Config, from: string, to: string, source: mysql.Pool, target: mysql.Pool, options: StartPointOptions): Promise<Record<string, string>> {
  const origins = Object.keys(config.ezones).filter((e) => e !== to);
  const maxAgeMs = Math.max(5000, 5 * config.heartbeat.interval);
  const deadline = Date.now() + options.waitMs;
  // A daemon started a moment ago has not written its first heartbeat yet: give it a few seconds.
  const heartbeatDeadline = Date.now() + Math.min(options.waitMs, 10_000);
  let positions = new Map<string, bigint>();
  for (;;) {
    const age = await heartbeatAgeMs(target, to);
    if (age === undefined || age > maxAgeMs) {
      if (Date.now() < heartbeatDeadline) {
        await sleep(250);
        continue;
      }
      throw new CheckFailedError(
        `ezone ${to}'s daemon is not running: ${age === undefined ? `no heartbeat of ${to} in its drc_meta.heartbeat` : `its last heartbeat is ${Math.round(age / 1000)} s old`} — start it (drc run --config F --ezone ${to}) and run bootstrap again; the copy needs its live stream`,
      );
    }
    positions = await appliedOffsets(target, config, origins);
    const missing = origins.filter((o) => !positions.has(o));
    if (missing.length === 0) break;
    if (Date.now() > deadline) {
      throw new CheckFailedError(
        `ezone ${to}'s daemon has applied nothing from ${missing.join(', ')} yet (no position in ${to}'s drc_meta.apply_position for ${missing.map((o) => changesTopic(config.kafka.topicPrefix, o)).join(', ')}) — are those daemons running? check drc lag and the health of ${to}'s daemon, then run bootstrap again`,
      );
    }
    await sleep(250);
  }
  const thirds = origins.filter((o) => o !== from);
  for (;;) {
    const theirs = await appliedOffsets(source, config, thirds);
    const behind = thirds.filter((o) => (theirs.get(o) ?? -1n) < positions.get(o)!);
    if (behind.length === 0) break;
    if (Date.now() > deadline) {
      throw new CheckFailedError(
        `ezone ${from} has not applied ${behind.map((o) => `${o} up to offset ${positions.get(o)} (it is at ${theirs.get(o) ?? 'nothing'})`).join(', ')}, where ${to} already is — a change ${from} lacks would be missed; wait until ${from}'s daemon catches up (drc lag) and run bootstrap again`,
      );
    }
    await sleep(250);
  }
  return Object.fromEntries([...positions].map(([o, p]) => [o, p.toString()]));
}

/** How old this ezone's own heartbeat row is (database clock), undefined when it has none. */
async function heartbeatAgeMs(pool: mysql.Pool, ezone: string): Promise<number | undefined> {
  try {
    const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT TIMESTAMPDIFF(MICROSECOND, sent_at, UTC_TIMESTAMP(6)) AS us FROM drc_meta.heartbeat WHERE ezone = ?', [ezone]);
    return rows[0] ? Number(rows[0].us) / 1000 : undefined;
  } catch (err) {
    if (isNoSuchTable(err)) return undefined; // no daemon ever ran there
    throw err;
  }
}

/** TARGET's apply lag: the age of the oldest of the newest heartbeats it applied from `origins` (ms). */
export async function targetLagMs(pool: mysql.Pool, origins: string[]): Promise<number> {
  if (origins.length === 0) return 0;
  const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT MAX(TIMESTAMPDIFF(MICROSECOND, sent_at, UTC_TIMESTAMP(6))) AS us FROM drc_meta.lag WHERE origin IN (${origins.map(() => '?').join(', ')})`, origins);
  return rows[0]?.us === null || rows[0]?.us === undefined ? 0 : Number(rows[0].us) / 1000;
}
