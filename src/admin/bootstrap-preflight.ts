/**
 * Everything `drc bootstrap` checks before it writes anything (README "Adding an ezone"): the tables
 * (a primary key and a version column in SOURCE, the same columns in TARGET where the table exists,
 * every parent table replicated; ordered parents first, bootstrap-order.ts),
 * TARGET's daemon (its heartbeat, an applied position for every other ezone), and the live stream's
 * start point — TARGET's applied offset of every origin, and SOURCE caught up to it for every origin
 * but itself, so that every change is either in the rows the copy reads or on TARGET's stream.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { TableFilter } from '../config/table-filter.js';
import { versionColumnOf } from '../config/tables.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import { foreignKeysOf } from '../db/table-keys.js';
import { CheckFailedError } from '../errors.js';
import { changesTopic } from '../model/topics.js';
import { copyOrder } from './bootstrap-order.js';
import { writesUtc } from '../db/time-zone.js';
import { sleep } from './verify-chunks.js';
import { formatTableName, type TableName } from './verify-names.js';
import { describeTable, replicatedTables, type VerifyTable } from './verify-tables.js';

/** A table to copy: as SOURCE has it, and whether TARGET lacks it (created from SOURCE's DDL). */
export interface PlannedTable {
  table: VerifyTable;
  /** Null: the table has none — copied under the journal of TARGET's capture (db/bootstrap-journal.ts). */
  versionColumn: string | null;
  missingInTarget: boolean;
  /** On a cycle of foreign keys among the copied tables (a self-reference included): copied with checks off (bootstrap-order.ts). */
  cyclic: boolean;
  /** The parent tables its foreign keys reference (formatTableName). */
  parents: string[];
  /**
   * Its versions are the times of the writes (TIMESTAMP with fractional seconds and ON UPDATE
   * CURRENT_TIMESTAMP, or such a DATETIME where SOURCE's and TARGET's time zone is UTC): rows only
   * TARGET holds can be told from writes SOURCE has not received yet, and removed
   * (bootstrap-target-only.ts). Not so for a counter, a weak column, or a DATETIME in local time.
   */
  timeVersioned: boolean;
}

export interface PlanOptions {
  /** Copy a table whose version column cannot order rows (README "Refusals"): the operator's call. */
  allowWeakVersion?: boolean;
}

/**
 * The tables to copy, or every reason some cannot be (each naming the table and the fix): `usage` for
 * names that are not replicated tables (exit 2), `problems` for tables that cannot be copied safely.
 */
export async function planTables(
  config: Config,
  from: string,
  to: string,
  source: mysql.Pool,
  target: mysql.Pool,
  names: TableName[] | undefined,
  options: PlanOptions = {},
): Promise<{ tables: PlannedTable[]; problems: string[]; usage: string[] }> {
  const tables: PlannedTable[] = [];
  const problems: string[] = [];
  const usage: string[] = [];
  const filter = new TableFilter(config);
  let datetimeUtc: boolean | undefined;
  for (const name of names ?? (await replicatedTables(source, config))) {
    const shown = formatTableName(name);
    const role = filter.roleOf(name.schema, name.table);
    if (role.kind !== 'replicated' || name.schema === 'drc_meta') {
      const why = name.schema === 'drc_meta' ? "it is DRC's own bookkeeping" : `replicate.include / replicate.exclude leave it out`;
      usage.push(`--tables ${shown}: not a replicated table (${why}) — name only tables replicate.include covers and replicate.exclude does not`);
      continue;
    }
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
    if (vc !== null && !described.columns.some((c) => c.name === vc)) {
      problems.push(
        `${shown}: has no version column ${vc} — a copied row cannot be ordered against the live stream without it; add the column, or set tables.${shown}.versionColumn: null (last arrival wins, copied under TARGET's journal), or leave it out here (--tables)`,
      );
      continue;
    }
    // No version column (versionColumn: null): last arrival wins, copied under TARGET's journal (README).
    const weakness = vc === null ? undefined : await weakVersionColumn(source, name, vc, (datetimeUtc ??= (await writesUtc(source)) && (await writesUtc(target))));
    const weak = options.allowWeakVersion ? undefined : weakness?.why;
    if (weak) {
      problems.push(`${shown}: its version column ${vc} ${weak} — a copied row could not be ordered against the live stream; make it e.g. DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6) (or BIGINT NOT NULL the application increments), or pass --allow-weak-version to copy it anyway`);
      continue;
    }
    const parentNames = (await foreignKeysOf(source, name.schema, name.table)).outgoing.map((fk) => ({ schema: fk.refSchema, table: fk.refTable }));
    const parents = [...new Set(parentNames.map(formatTableName))];
    const unreplicated = parentNames.filter((t) => t.schema === 'drc_meta' || filter.roleOf(t.schema, t.table).kind !== 'replicated');
    if (unreplicated.length > 0) {
      problems.push(`${shown}: references ${[...new Set(unreplicated.map(formatTableName))].join(', ')}, not replicated — a child copied under a parent the stream never brings cannot be ordered against its deletes; replicate the parent too, or leave ${shown} out (--tables)`);
      continue;
    }
    tables.push({ table: described, versionColumn: vc, missingInTarget: !exists, cyclic: false, parents, timeVersioned: weakness !== undefined && weakness.why === undefined && weakness.time });
  }
  // Parents first (their rows are there when a child's arrive, as foreign-key checks require); a cycle's tables with checks off.
  const { order, cyclic } = copyOrder(
    tables.map((p) => formatTableName(p.table)),
    tables.flatMap((p) => p.parents.map((parent) => ({ child: formatTableName(p.table), parent }))),
  );
  const byName = new Map(tables.map((p) => [formatTableName(p.table), p]));
  tables.splice(0, tables.length, ...order.map((n) => ({ ...byName.get(n)!, cyclic: cyclic.has(n) })));
  return { tables, problems, usage };
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

/** Why a version column cannot order rows (README "Refusals"), or undefined when it can. */
export function versionColumnWeakness(col: { dataType: string; precision: number | null; nullable: boolean; extra: string }): string | undefined {
  const type = col.dataType.toLowerCase();
  if (col.nullable) return 'is nullable (a row without a version cannot be ordered)';
  if (INTEGER_TYPES.has(type)) return undefined;
  if (type === 'date') return 'is a DATE (one version per day: two changes on a day cannot be ordered)';
  if (type !== 'datetime' && type !== 'timestamp') return `is of type ${type}, not an integer, DATETIME or TIMESTAMP`;
  if (!col.precision) return `is ${type.toUpperCase()} with no fractional seconds (two changes in a second cannot be ordered)`;
  if (!/on update/i.test(col.extra)) return `has no ON UPDATE CURRENT_TIMESTAMP (an update that does not set it keeps the old version)`;
  return undefined;
}

/** Why the version column cannot order rows (undefined: it can), and whether it is a time; undefined when it is not found. */
async function weakVersionColumn(pool: mysql.Pool, name: TableName, column: string, datetimeUtc: boolean): Promise<{ why: string | undefined; time: boolean } | undefined> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    'SELECT DATA_TYPE, DATETIME_PRECISION, IS_NULLABLE, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?',
    [name.schema, name.table, column],
  );
  const r = rows[0];
  if (!r) return undefined;
  const type = String(r.DATA_TYPE).toLowerCase();
  const why = versionColumnWeakness({ dataType: type, precision: r.DATETIME_PRECISION === null ? null : Number(r.DATETIME_PRECISION), nullable: r.IS_NULLABLE === 'YES', extra: String(r.EXTRA ?? '') });
  // A DATETIME holds the writer's wall clock, comparable with the horizon (UTC) only where it is UTC.
  return { why, time: type === 'timestamp' || (type === 'datetime' && datetimeUtc) };
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
  await sourceHolds(config, from, to, source, positions, deadline);
  return Object.fromEntries([...positions].map(([o, p]) => [o, p.toString()]));
}

/** Wait until SOURCE has applied every third origin up to `positions` (TARGET's offsets); CheckFailedError past `deadline`. */
async function sourceHolds(config: Config, from: string, to: string, source: mysql.Pool, positions: Map<string, bigint>, deadline: number): Promise<void> {
  const thirds = [...positions.keys()].filter((o) => o !== from && o !== to);
  for (;;) {
    const theirs = await appliedOffsets(source, config, thirds);
    const behind = thirds.filter((o) => (theirs.get(o) ?? -1n) < positions.get(o)!);
    if (behind.length === 0) return;
    if (Date.now() > deadline) {
      throw new CheckFailedError(
        `ezone ${from} has not applied ${behind.map((o) => `${o} up to offset ${positions.get(o)} (it is at ${theirs.get(o) ?? 'nothing'})`).join(', ')}, where ${to} already is — a change ${from} lacks would be missed; wait until ${from}'s daemon catches up (drc lag) and run bootstrap again`,
      );
    }
    await sleep(250);
  }
}

/**
 * Before the rows of tables without a version column are decided again (bootstrap-recheck.ts): wait
 * (up to `waitMs`) until SOURCE has applied every third origin up to TARGET's *current* offset, so a
 * third ezone's delete TARGET already applied (a delete-missing there) is in SOURCE too, and SOURCE's
 * answer "I no longer hold the row" can be trusted. Throws CheckFailedError naming the lagging origin.
 */
export async function sourceHoldsThirds(config: Config, from: string, to: string, source: mysql.Pool, target: mysql.Pool, waitMs: number): Promise<void> {
  const thirds = Object.keys(config.ezones).filter((e) => e !== to && e !== from);
  if (thirds.length === 0) return;
  await sourceHolds(config, from, to, source, await appliedOffsets(target, config, thirds), Date.now() + waitMs);
}

/**
 * TARGET's daemon is running: its own heartbeat row in its drc_meta.heartbeat is fresh (waits up to
 * 10 s for a daemon started a moment ago). Throws CheckFailedError naming the fix.
 */
export async function requireDaemon(config: Config, to: string, target: mysql.Pool, waitMs: number): Promise<void> {
  const maxAgeMs = Math.max(5000, 5 * config.heartbeat.interval);
  const deadline = Date.now() + Math.min(waitMs, 10_000);
  for (;;) {
    const age = await heartbeatAgeMs(target, to);
    if (age !== undefined && age <= maxAgeMs) return;
    if (Date.now() >= deadline) {
      throw new CheckFailedError(
        `ezone ${to}'s daemon is not running: ${age === undefined ? `no heartbeat of ${to} in its drc_meta.heartbeat` : `its last heartbeat is ${Math.round(age / 1000)} s old`} — start it (drc run --config F --ezone ${to}) and run bootstrap again; the copy needs its live stream`,
      );
    }
    await sleep(250);
  }
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

/** TARGET's apply lag: the age of the oldest of the newest heartbeats it applied from `origins` (ms), and that origin. */
export async function targetLagMs(pool: mysql.Pool, origins: string[]): Promise<{ lagMs: number; origin: string | undefined }> {
  if (origins.length === 0) return { lagMs: 0, origin: undefined };
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT origin, TIMESTAMPDIFF(MICROSECOND, sent_at, UTC_TIMESTAMP(6)) AS us FROM drc_meta.lag WHERE origin IN (${origins.map(() => '?').join(', ')}) ORDER BY us DESC LIMIT 1`,
    origins,
  );
  const r = rows[0];
  return r?.us === null || r?.us === undefined ? { lagMs: 0, origin: undefined } : { lagMs: Number(r.us) / 1000, origin: String(r.origin) };
}
