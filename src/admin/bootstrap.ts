/**
 * `drc bootstrap`: copy replicated tables from SOURCE into TARGET online, while every ezone takes
 * writes and every daemon runs (README "Adding an ezone / re-seeding"). In order:
 *
 * 1. check everything, writing nothing: the tables (primary key, version column, same columns),
 *    TARGET's daemon and the live stream's start point (bootstrap-preflight.ts);
 * 2. create the tables TARGET lacks from SOURCE's `SHOW CREATE TABLE`, saying so (bootstrap-create.ts);
 * 3. copy each table by primary-key chunks (bootstrap-copy.ts), every row applied only if newer,
 *    progress recorded per table in TARGET's drc_meta.bootstrap (`--resume` continues from it,
 *    bootstrap-state.ts), then decide again the rows a concurrent delete overtook (bootstrap-recheck.ts);
 * 4. compare the copied tables between SOURCE and TARGET with `drc verify`'s comparison.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { createPool } from '../db/connect.js';
import { bootstrapLockName } from '../db/bootstrap-progress.js';
import { ensureMetaSchema } from '../db/meta-schema.js';
import { CheckFailedError, UnreachableError, UsageError } from '../errors.js';
import type { CopyApplier } from '../model/ports.js';
import type { Row } from '../model/value.js';
import type { Logger } from '../ops/logger.js';
import { chunkRetryBudgetMs, copyTable, type TableProgress, type VersionlessCopier } from './bootstrap-copy.js';
import { journalVersionless, forgetVerifiedJournal } from './bootstrap-journal-wait.js';
import { createTable, targetDdl, type DdlAccount } from './bootstrap-create.js';
import { removeOvertaken, settleStream, type OvertakenRemover } from './bootstrap-recheck.js';
import { orphanWarning, readHorizon, removeOrphans, type TargetOnlyRemover } from './bootstrap-target-only.js';
import { quarantineOpen } from '../db/quarantine-open.js';
import { planTables, requireDaemon, sourceHoldsThirds, startPoint, type PlannedTable } from './bootstrap-preflight.js';
import { CopyThrottle } from './bootstrap-throttle.js';
import { forgetStates, readStates, stateKey, writeState, type TableState } from './bootstrap-state.js';
import { unreachableMessage } from './unreachable.js';
import { verify, type VerifyReport } from './verify.js';
import { formatTableName, type TableName } from './verify-names.js';

export interface BootstrapOptions {
  target: string;
  source: string;
  tables?: TableName[];
  resume: boolean;
  /** Start over even though an unfinished run of these tables is recorded (its state goes). */
  restart?: boolean;
  /** Copy tables whose version column cannot order rows (bootstrap-preflight.ts). */
  allowWeakVersion?: boolean;
  /** Give up after the copy was paused this long in one go (ms); 0 or absent: never. */
  maxPauseMs?: number;
  chunkSize: number;
  concurrency: number;
  maxChunksPerSecond: number;
  /** Pause the copy while TARGET's apply lag is above this (ms). */
  maxLagMs: number;
  /** Pause the copy while SOURCE runs more threads than this (Threads_running); 0 or absent: never. */
  maxSourceThreads?: number;
  /** How long to wait for TARGET's daemon's first positions and for SOURCE to catch up (ms). */
  waitStreamMs: number;
  /**
   * Rows only TARGET holds are removed when their version is older than SOURCE's knowledge less this
   * margin (ms; bootstrap-target-only.ts): a transaction's length and the clocks' skew. Default 60 s.
   */
  keepRecentMs?: number;
  /** The final verify's re-checks of differing keys (rows in flight are not differences). */
  recheckDelayMs: number;
  rechecks: number;
  onProgress?: (p: TableProgress) => void;
  /** An account that may create the tables TARGET lacks (only those statements use it); default: the config's. */
  ddlAccount?: DdlAccount;
  /** Told once per table created in TARGET. */
  onCreated?: (table: string) => void;
  /** Test seam (bootstrap-copy.ts). */
  beforeWrite?: (table: string, rows: Row[]) => Promise<void>;
}

/** What bootstrap asks of the target side beyond the CopyApplier port (apply/copy-applier.ts). */
export type BootstrapApplier = CopyApplier & OvertakenRemover & TargetOnlyRemover & VersionlessCopier;

export interface BootstrapTableReport {
  table: string;
  /** Rows over every run (written or identical, plus skipped). */
  rows: number;
  /** This run: rows written (or already identical), rows that lost to a newer row or tombstone. */
  copied: number;
  skipped: number;
  chunks: number;
  created: boolean;
  /** This run continued after a recorded key (or found the table already copied). */
  resumed: boolean;
  /** Copied rows a concurrent delete overtook, deleted again after the copy (README "Adding an ezone"). */
  overtaken: number;
  /** Rows only TARGET held, older than SOURCE's knowledge, removed (README "Adding an ezone": re-seeding). */
  removed: number;
  seconds: number;
  rowsPerSec: number;
}

export interface BootstrapReport {
  ok: boolean;
  ezone: string;
  from: string;
  resumed: boolean;
  /** TARGET's applied next offset of every other origin when the run started: the live stream's start point. */
  startPositions: Record<string, string>;
  tables: BootstrapTableReport[];
  verify: Pick<VerifyReport, 'ok' | 'tables' | 'differences' | 'schemaDifferences'>;
  seconds: number;
}

/** Copy, verify, report. Throws UsageError / CheckFailedError / UnreachableError before writing anything when a check fails. */
export async function bootstrap(config: Config, options: BootstrapOptions, log: Logger, applierFor: (pool: mysql.Pool) => Promise<BootstrapApplier>): Promise<BootstrapReport> {
  const { source: from, target: to } = options;
  if (from === to) throw new UsageError(`--ezone and --from are both ${to}: copy from another ezone into ${to}`);
  if (options.resume && options.restart) throw new UsageError('--resume and --restart exclude each other: continue the recorded run, or start it over');
  if (options.maxLagMs <= config.heartbeat.interval) {
    throw new UsageError(`--max-lag-ms ${options.maxLagMs} is not above heartbeat.interval (${config.heartbeat.interval} ms): the target's apply lag is measured by heartbeats, so the copy would pause for good — give --max-lag-ms above ${config.heartbeat.interval}`);
  }
  const started = Date.now();
  const source = createPool(config.ezones[from]!.mysql, options.concurrency + 1, { multipleStatements: true });
  const target = createPool(config.ezones[to]!.mysql, options.concurrency + 3, { multipleStatements: true, apply: true });
  let lock: mysql.PoolConnection | undefined;
  try {
    await probe(config, [[from, source], [to, target]]);
    lock = await lockTarget(target, to);
    const tables = await plan(config, options, source, target);
    await requireDaemon(config, to, target, options.waitStreamMs);
    const states = await prepareStates(target, tables, from, options);
    // The tables TARGET lacks exist before the start point is waited for: TARGET's stream pauses on a
    // change to a table it lacks, and would never reach the position the start point waits for.
    for (const p of tables.filter((t) => t.missingInTarget)) {
      await createTable(source, targetDdl(config.ezones[to]!.mysql, options.ddlAccount), p, to);
      options.onCreated?.(formatTableName(p.table));
    }
    // Tables without a version column: TARGET's capture journals their every change before the start point is chosen.
    await journalVersionless(config, { from, to }, { source, target }, tables, options, log);
    const startPositions = await startPoint(config, from, to, source, target, { waitMs: options.waitStreamMs });
    if (!options.resume) await forgetStates(target, tables.map((p) => ({ schema: p.table.schema, table: p.table.table })));
    await recordFresh(target, tables, states, from, startPositions);
    const reports: BootstrapTableReport[] = [];
    const origins = Object.keys(config.ezones).filter((e) => e !== to);
    const throttle = new CopyThrottle({ source, target }, origins, { maxLagMs: options.maxLagMs, maxSourceThreads: options.maxSourceThreads ?? 0, maxPauseMs: options.maxPauseMs ?? 0 }, log);
    const applier = await applierFor(target);
    // None for a table SOURCE has a quarantined transaction of: the heartbeats went on without it.
    const horizon = async (p: PlannedTable) => ((await quarantineOpen(source, p.table.schema, p.table.table)) ? undefined : readHorizon(source, Object.keys(config.ezones).filter((e) => e !== from), options.keepRecentMs ?? 60_000));
    try {
      for (const p of tables) reports.push(await copyOne(p, states.get(stateKey(p.table))!, { source, target, throttle, options, log, applier, horizon }));
    } finally {
      await throttle.stop();
    }
    // A delete on the stream that read a row as missing just before its chunk inserted it left only a
    // tombstone: once every stream transaction in flight during the copy has landed, decide those rows again.
    await settleStream(target, origins, Math.max(10_000, 3 * config.heartbeat.interval), log);
    // Tables without a version column: SOURCE holds every third ezone's change TARGET applied (a delete among them).
    if (tables.some((p) => p.versionColumn === null)) await sourceHoldsThirds(config, from, to, source, target, options.waitStreamMs);
    await recheckOvertaken(source, target, applier, tables, reports, log);
    for (const [i, p] of tables.entries()) {
      if (!p.cyclic) continue;
      const orphans = await removeOrphans({ source, target, remover: applier, horizon, planned: (schema, table) => tables.find((t) => t.table.schema === schema && t.table.table === table) }, p);
      reports[i]!.removed += orphans.removed;
      const warning = orphanWarning(formatTableName(p.table), orphans);
      if (warning) log.warn({ table: formatTableName(p.table), kept: orphans.kept }, `bootstrap: ${warning}`);
    }
    const checked = await verifyCopied(config, options, target, tables, log);
    const { ok, differences, schemaDifferences } = checked;
    return {
      ok,
      ezone: to,
      from,
      resumed: options.resume,
      startPositions,
      tables: reports,
      verify: { ok, tables: checked.tables, differences, ...(schemaDifferences ? { schemaDifferences } : {}) },
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    if (lock) {
      await lock.query('DO RELEASE_LOCK(?)', [lockName(to)]).catch(() => undefined);
      lock.release();
    }
    await Promise.all([source.end(), target.end()]);
  }
}

/** The tables to copy, or the refusals (UsageError, CheckFailedError), nothing written. */
async function plan(config: Config, options: BootstrapOptions, source: mysql.Pool, target: mysql.Pool): Promise<PlannedTable[]> {
  const { source: from, target: to } = options;
  const { tables, problems, usage } = await planTables(config, from, to, source, target, options.tables, { ...(options.allowWeakVersion ? { allowWeakVersion: true } : {}) });
  if (usage.length > 0) throw new UsageError(`cannot bootstrap ${to} from ${from}, nothing written:\n  ${usage.join('\n  ')}`);
  if (problems.length > 0) throw new CheckFailedError(`cannot bootstrap ${to} from ${from}, nothing written:\n  ${problems.join('\n  ')}`);
  if (tables.length === 0) throw new UsageError(`no replicated table to copy from ${from}: check replicate.include / --tables`);
  return tables;
}

/** Every table is on record before its first row is written, so a run killed from here on can be resumed. */
async function recordFresh(target: mysql.Pool, tables: PlannedTable[], states: Map<string, TableState>, from: string, startPositions: Record<string, string>): Promise<void> {
  for (const p of tables) {
    if (states.has(stateKey(p.table))) continue;
    const fresh: TableState = { schema: p.table.schema, table: p.table.table, source: from, status: 'copying', doneThrough: undefined, rowsCopied: 0, rowsSkipped: 0, chunks: 0, createdTable: p.missingInTarget, startPositions };
    await writeState(target, fresh, null);
    states.set(stateKey(p.table), fresh);
  }
}

async function recheckOvertaken(source: mysql.Pool, target: mysql.Pool, applier: BootstrapApplier, tables: PlannedTable[], reports: BootstrapTableReport[], log: Logger): Promise<void> {
  for (const [i, p] of tables.entries()) {
    const overtaken = await removeOvertaken(target, applier, p, source);
    reports[i]!.overtaken = overtaken;
    if (overtaken > 0) log.info({ table: formatTableName(p.table), rows: overtaken }, 'bootstrap: copied rows a concurrent delete overtook, deleted again');
  }
}

/** `drc verify`'s comparison of the copied tables; only the tables that differ are failed (--resume copies those again), the others verified. */
async function verifyCopied(config: Config, options: BootstrapOptions, target: mysql.Pool, tables: PlannedTable[], log: Logger): Promise<VerifyReport> {
  const checked = await verify(
    config,
    { tables: tables.map((p) => ({ schema: p.table.schema, table: p.table.table })), ezones: [options.source, options.target], chunkSize: Math.max(options.chunkSize, 1000), pauseMs: 0, concurrency: options.concurrency, recheckDelayMs: options.recheckDelayMs, rechecks: options.rechecks, repair: false },
    log,
    () => Promise.reject(new Error('bootstrap never repairs')),
  );
  const differing = new Set([...checked.differences.map((d) => d.table), ...(checked.schemaDifferences ?? []).map((d) => d.table), ...(checked.skipped ?? []).map((d) => d.table)]);
  for (const p of tables) {
    const st = (await readStates(target, [p.table])).get(stateKey(p.table));
    if (st) await writeState(target, { ...st, status: differing.has(formatTableName(p.table)) || (!checked.ok && differing.size === 0) ? 'failed' : 'verified' }, null);
  }
  await forgetVerifiedJournal(target, tables, log);
  return checked;
}

const lockName = bootstrapLockName;

/** One bootstrap into an ezone at a time: a named lock on TARGET's server, held by one session for the whole run. */
async function lockTarget(target: mysql.Pool, to: string): Promise<mysql.PoolConnection> {
  const conn = await target.getConnection();
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [lockName(to)]);
  if (Number(rows[0]?.got) !== 1) {
    conn.release();
    throw new CheckFailedError(`another drc bootstrap into ${to} is running (it holds the lock ${lockName(to)} on ${to}'s server) — wait for it to end, or stop it, then run bootstrap again (--resume continues a stopped one)`);
  }
  return conn;
}

interface CopyContext {
  source: mysql.Pool;
  target: mysql.Pool;
  throttle: CopyThrottle;
  options: BootstrapOptions;
  log: Logger;
  applier: BootstrapApplier;
  horizon: (p: PlannedTable) => Promise<string | undefined>;
}

async function copyOne(p: PlannedTable, state: TableState, ctx: CopyContext): Promise<BootstrapTableReport> {
  const name = formatTableName(p.table);
  const t0 = Date.now();
  const resumed = ctx.options.resume && (state.doneThrough !== undefined || state.status !== 'copying');
  const base = { table: name, created: state.createdTable, resumed };
  if (state.status === 'copied' || state.status === 'verified') {
    return { ...base, rows: state.rowsCopied + state.rowsSkipped, copied: 0, skipped: 0, chunks: 0, seconds: 0, rowsPerSec: 0, overtaken: 0, removed: 0 };
  }
  const estimate = await estimateRows(ctx.source, p);
  await writeState(ctx.target, { ...state, status: 'copying' }, estimate);
  const { options } = ctx;
  const deps = {
    source: ctx.source,
    target: ctx.target,
    applier: ctx.applier,
    throttle: ctx.throttle,
    log: ctx.log,
    targetOnly: { remover: ctx.applier, horizon: ctx.horizon },
    retryBudgetMs: chunkRetryBudgetMs(options.maxLagMs),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.beforeWrite ? { beforeWrite: options.beforeWrite } : {}),
  };
  const out = await copyTable(deps, p, { ...state, status: 'copying' }, estimate, { chunkSize: options.chunkSize, concurrency: options.concurrency, maxChunksPerSecond: options.maxChunksPerSecond });
  const done = (await readStates(ctx.target, [p.table])).get(stateKey(p.table))!;
  await writeState(ctx.target, { ...done, status: 'copied' }, null);
  const seconds = (Date.now() - t0) / 1000;
  return { ...base, rows: done.rowsCopied + done.rowsSkipped, copied: out.written, skipped: out.skipped, chunks: out.chunks, seconds, rowsPerSec: Math.round((out.written + out.skipped) / Math.max(seconds, 0.001)), overtaken: 0, removed: out.removed };
}

/**
 * The recorded states `--resume` continues from. Without it, a fresh start — refused while an
 * unfinished run of these tables is recorded, unless `--restart` (the caller forgets the records).
 */
async function prepareStates(target: mysql.Pool, tables: PlannedTable[], from: string, options: Pick<BootstrapOptions, 'resume' | 'restart'>): Promise<Map<string, TableState>> {
  const conn = await target.getConnection();
  try {
    await ensureMetaSchema(conn); // TARGET's daemon created drc_meta; this adds drc_meta.bootstrap to an older one
  } finally {
    conn.release();
  }
  const names = tables.map((p) => ({ schema: p.table.schema, table: p.table.table }));
  const states = await readStates(target, names);
  if (!options.resume) {
    const unfinished = [...states.values()].filter((st) => st.status !== 'verified');
    if (unfinished.length > 0 && !options.restart) {
      throw new UsageError(
        `an unfinished bootstrap is recorded in the target's drc_meta.bootstrap (${unfinished.map((st) => `${formatTableName(st)} from ${st.source}, ${st.status}`).join('; ')}) — continue it with --resume, or start it over with --restart`,
      );
    }
    return new Map();
  }
  if (states.size === 0) throw new UsageError("--resume: no bootstrap of these tables is recorded in the target's drc_meta.bootstrap — run without --resume");
  const other = [...states.values()].find((s) => s.source !== from);
  if (other) throw new UsageError(`--resume: ${formatTableName(other)} was being copied from ${other.source}, not ${from} — resume with --from ${other.source}, or start afresh without --resume`);
  // A table whose final comparison failed is copied again from its start: continuing after its end would copy nothing.
  for (const [k, st] of states) if (st.status === 'failed') states.set(k, { ...st, status: 'copying', doneThrough: undefined, rowsCopied: 0, rowsSkipped: 0, chunks: 0 });
  return states;
}

async function estimateRows(pool: mysql.Pool, p: PlannedTable): Promise<number | null> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [p.table.schema, p.table.table]);
  return rows[0]?.n === null || rows[0]?.n === undefined ? null : Number(rows[0].n);
}

async function probe(config: Config, pools: [string, mysql.Pool][]): Promise<void> {
  const failures: string[] = [];
  for (const [ezone, pool] of pools) {
    await pool.query('SELECT 1').catch((err: unknown) => failures.push(unreachableMessage(ezone, config.ezones[ezone]!.mysql, err)));
  }
  if (failures.length > 0) throw new UnreachableError(failures.join('; '));
}
