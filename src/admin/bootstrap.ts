/**
 * `drc bootstrap`: copy replicated tables from SOURCE into TARGET online, while every ezone takes
 * writes and every daemon runs (README "Adding an ezone / re-seeding"). In order:
 *
 * 1. check everything, writing nothing: the tables (primary key, version column, same columns),
 *    TARGET's daemon and the live stream's start point (bootstrap-preflight.ts);
 * 2. create the tables TARGET lacks from SOURCE's `SHOW CREATE TABLE`, saying so;
 * 3. copy each table by primary-key chunks (bootstrap-copy.ts), every row applied only if newer,
 *    progress recorded per table in TARGET's drc_meta.bootstrap (`--resume` continues from it);
 * 4. compare the copied tables between SOURCE and TARGET with `drc verify`'s comparison.
 */
import mysql from 'mysql2/promise';
import type { Config, MysqlConfig } from '../config/schema.js';
import { connectionOptions, createPool } from '../db/connect.js';
import { isAccessDenied } from '../db/mysql-errors.js';
import { ensureMetaSchema } from '../db/meta-schema.js';
import { quoteId } from '../db/sql.js';
import { CheckFailedError, UnreachableError, UsageError } from '../errors.js';
import type { CopyApplier } from '../model/ports.js';
import type { Row } from '../model/value.js';
import type { Logger } from '../ops/logger.js';
import { copyTable, type TableProgress } from './bootstrap-copy.js';
import { planTables, startPoint, type PlannedTable } from './bootstrap-preflight.js';
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
  chunkSize: number;
  concurrency: number;
  maxChunksPerSecond: number;
  /** Pause the copy while TARGET's apply lag is above this (ms). */
  maxLagMs: number;
  /** Pause the copy while SOURCE runs more threads than this (Threads_running); 0 or absent: never. */
  maxSourceThreads?: number;
  /** How long to wait for TARGET's daemon's first positions and for SOURCE to catch up (ms). */
  waitStreamMs: number;
  /** The final verify's re-checks of differing keys (rows in flight are not differences). */
  recheckDelayMs: number;
  rechecks: number;
  onProgress?: (p: TableProgress) => void;
  /** An account that may create the tables TARGET lacks (only those statements use it); default: the config's. */
  ddlAccount?: { user: string; password: string };
  /** Told once per table created in TARGET. */
  onCreated?: (table: string) => void;
  /** Test seam (bootstrap-copy.ts). */
  beforeWrite?: (table: string, rows: Row[]) => Promise<void>;
}

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
export async function bootstrap(config: Config, options: BootstrapOptions, log: Logger, applierFor: (pool: mysql.Pool) => Promise<CopyApplier>): Promise<BootstrapReport> {
  const { source: from, target: to } = options;
  if (from === to) throw new UsageError(`--ezone and --from are both ${to}: copy from another ezone into ${to}`);
  const started = Date.now();
  const source = createPool(config.ezones[from]!.mysql, options.concurrency + 1, { multipleStatements: true });
  const target = createPool(config.ezones[to]!.mysql, options.concurrency + 2, { multipleStatements: true, apply: true });
  try {
    await probe(config, [[from, source], [to, target]]);
    const { tables, problems } = await planTables(config, from, to, source, target, options.tables);
    if (problems.length > 0) throw new CheckFailedError(`cannot bootstrap ${to} from ${from}, nothing written:\n  ${problems.join('\n  ')}`);
    if (tables.length === 0) throw new UsageError(`no replicated table to copy from ${from}: check replicate.include / --tables`);
    const startPositions = await startPoint(config, from, to, source, target, { waitMs: options.waitStreamMs });
    const states = await prepareStates(target, tables, from, options.resume);
    for (const p of tables.filter((t) => t.missingInTarget)) {
      await createTable(source, targetDdl(config.ezones[to]!.mysql, options.ddlAccount), p, to);
      options.onCreated?.(formatTableName(p.table));
    }
    // Every table is on record before its first row is written, so a run killed from here on can be resumed.
    for (const p of tables) {
      if (states.has(stateKey(p.table))) continue;
      const fresh: TableState = { schema: p.table.schema, table: p.table.table, source: from, status: 'copying', doneThrough: undefined, rowsCopied: 0, rowsSkipped: 0, chunks: 0, createdTable: p.missingInTarget, startPositions };
      await writeState(target, fresh, null);
      states.set(stateKey(p.table), fresh);
    }
    const reports: BootstrapTableReport[] = [];
    const origins = Object.keys(config.ezones).filter((e) => e !== to);
    const throttle = new CopyThrottle({ source, target }, origins, { maxLagMs: options.maxLagMs, maxSourceThreads: options.maxSourceThreads ?? 0 }, log);
    try {
      const applier = await applierFor(target);
      for (const p of tables) reports.push(await copyOne(p, states.get(stateKey(p.table))!, { source, target, throttle, options, log, applier }));
    } finally {
      await throttle.stop();
    }
    const checked = await verify(
      config,
      { tables: tables.map((p) => ({ schema: p.table.schema, table: p.table.table })), ezones: [from, to], chunkSize: Math.max(options.chunkSize, 1000), pauseMs: 0, concurrency: options.concurrency, recheckDelayMs: options.recheckDelayMs, rechecks: options.rechecks, repair: false },
      log,
      () => Promise.reject(new Error('bootstrap never repairs')),
    );
    for (const p of tables) {
      const st = (await readStates(target, [p.table])).get(stateKey(p.table));
      if (st) await writeState(target, { ...st, status: checked.ok ? 'verified' : 'failed' }, null);
    }
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
    await Promise.all([source.end(), target.end()]);
  }
}

interface CopyContext {
  source: mysql.Pool;
  target: mysql.Pool;
  throttle: CopyThrottle;
  options: BootstrapOptions;
  log: Logger;
  applier: CopyApplier;
}

async function copyOne(p: PlannedTable, state: TableState, ctx: CopyContext): Promise<BootstrapTableReport> {
  const name = formatTableName(p.table);
  const t0 = Date.now();
  const resumed = ctx.options.resume && (state.doneThrough !== undefined || state.status !== 'copying');
  const base = { table: name, created: state.createdTable, resumed };
  if (state.status === 'copied' || state.status === 'verified') {
    return { ...base, rows: state.rowsCopied + state.rowsSkipped, copied: 0, skipped: 0, chunks: 0, seconds: 0, rowsPerSec: 0 };
  }
  const estimate = await estimateRows(ctx.source, p);
  await writeState(ctx.target, { ...state, status: 'copying' }, estimate);
  const { options } = ctx;
  const deps = { source: ctx.source, target: ctx.target, applier: ctx.applier, throttle: ctx.throttle, log: ctx.log, ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.beforeWrite ? { beforeWrite: options.beforeWrite } : {}) };
  const out = await copyTable(deps, p, { ...state, status: 'copying' }, estimate, { chunkSize: options.chunkSize, concurrency: options.concurrency, maxChunksPerSecond: options.maxChunksPerSecond });
  const done = (await readStates(ctx.target, [p.table])).get(stateKey(p.table))!;
  await writeState(ctx.target, { ...done, status: 'copied' }, null);
  const seconds = (Date.now() - t0) / 1000;
  return { ...base, rows: done.rowsCopied + done.rowsSkipped, copied: out.written, skipped: out.skipped, chunks: out.chunks, seconds, rowsPerSec: Math.round((out.written + out.skipped) / Math.max(seconds, 0.001)) };
}

/** The recorded states `--resume` continues from; without it, a fresh start (old records go). */
async function prepareStates(target: mysql.Pool, tables: PlannedTable[], from: string, resume: boolean): Promise<Map<string, TableState>> {
  const conn = await target.getConnection();
  try {
    await ensureMetaSchema(conn); // TARGET's daemon created drc_meta; this adds drc_meta.bootstrap to an older one
  } finally {
    conn.release();
  }
  const names = tables.map((p) => ({ schema: p.table.schema, table: p.table.table }));
  if (!resume) {
    await forgetStates(target, names);
    return new Map();
  }
  const states = await readStates(target, names);
  if (states.size === 0) throw new UsageError("--resume: no bootstrap of these tables is recorded in the target's drc_meta.bootstrap — run without --resume");
  const other = [...states.values()].find((s) => s.source !== from);
  if (other) throw new UsageError(`--resume: ${formatTableName(other)} was being copied from ${other.source}, not ${from} — resume with --from ${other.source}, or start afresh without --resume`);
  // A table whose final comparison failed is copied again from its start: continuing after its end would copy nothing.
  for (const [k, st] of states) if (st.status === 'failed') states.set(k, { ...st, status: 'copying', doneThrough: undefined, rowsCopied: 0, rowsSkipped: 0, chunks: 0 });
  return states;
}

/** TARGET's server under the account that creates tables: --user/--password-env replace the whole account (passwordFile too). */
function targetDdl(own: MysqlConfig, account: BootstrapOptions['ddlAccount']): MysqlConfig {
  if (!account) return own;
  const { passwordFile: _unused, ...rest } = own;
  return { ...rest, ...account };
}

async function createTable(source: mysql.Pool, target: MysqlConfig, p: PlannedTable, to: string): Promise<void> {
  const { schema, table } = p.table;
  const [rows] = await source.query<mysql.RowDataPacket[]>(`SHOW CREATE TABLE ${quoteId(schema)}.${quoteId(table)}`);
  const ddl = String(rows[0]!['Create Table']);
  const conn = await mysql.createConnection(connectionOptions(target));
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(schema)}`);
    await conn.query(`USE ${quoteId(schema)}`);
    // Foreign keys may name a parent created later (as mysqldump does).
    await conn.query('SET SESSION foreign_key_checks = 0');
    await conn.query(ddl);
    await conn.query('SET SESSION foreign_key_checks = 1');
  } catch (err) {
    if (isAccessDenied(err)) {
      throw new CheckFailedError(
        `${formatTableName(p.table)} is missing in ${to} and the account ${target.user} may not create it — run with --user and --password-env of an account that may (CREATE on ${quoteId(schema)}.*), or create it in ${to} from the source's SHOW CREATE TABLE, then run bootstrap again`,
      );
    }
    throw err;
  } finally {
    await conn.end().catch(() => undefined);
  }
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
