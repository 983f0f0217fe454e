/**
 * `drc bootstrap --config F --ezone T --from S [--tables …] [--resume] [--json]` (DESIGN.md section
 * 12): copy the replicated tables from S into T online, then compare them. Exit codes: 0 complete and
 * identical, 1 a check failed (no primary key, columns differ, a missing or weak version column, T's daemon not
 * running) or the final comparison found differences, 2 bad usage or config, 3 a database unreachable.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { bootstrap, type BootstrapReport } from '../../admin/bootstrap.js';
import type { TableProgress } from '../../admin/bootstrap-copy.js';
import { formatProgress } from '../../admin/bootstrap-progress.js';
import { parseTableList } from '../../admin/verify-names.js';
import { ChunkCopyApplier } from '../../apply/copy-applier.js';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { detectFlavor } from '../../db/connect.js';
import { CheckFailedError } from '../../errors.js';
import { createLogger } from '../../ops/logger.js';
import { EXIT_CODES_HELP, formatTable, printJson } from '../output.js';
import { positiveInt } from '../parse.js';
import { accountOf } from './triggers.js';

interface Opts {
  config: string;
  ezone: string;
  from: string;
  tables?: string;
  resume?: boolean;
  restart?: boolean;
  allowWeakVersion?: boolean;
  maxPauseMs: number;
  chunkSize: number;
  concurrency: number;
  maxChunksPerSecond: number;
  maxLagMs: number;
  maxSourceThreads: number;
  waitStreamMs: number;
  recheckMs: number;
  keepRecentMs: number;
  user?: string;
  passwordEnv?: string;
  json?: boolean;
}

const nonNegative = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of milliseconds, 0 or more');
  return n;
};

const wholeOrZero = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
};

export function registerBootstrap(program: Command): void {
  program
    .command('bootstrap')
    .description('copy the replicated tables from one ezone into another while every ezone takes writes, then compare them; exit 0 when complete')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .requiredOption('--ezone <name>', 'the ezone to copy into (its daemon must be running)')
    .requiredOption('--from <name>', 'the ezone to copy from')
    .option('--tables <list>', 'comma-separated schema.table list, as drc verify takes it (default: every replicated table of --from)')
    .option('--resume', "continue the run recorded in the target's drc_meta.bootstrap after its last completed chunk")
    .option('--restart', "start over although an unfinished run of these tables is recorded (its record goes; rows already copied stay and are compared again)")
    .option('--allow-weak-version', 'copy tables whose version column cannot order rows (nullable, DATE, no fractional seconds, no ON UPDATE, not an integer or date type)')
    .option('--chunk-size <rows>', 'rows per chunk (one read in the source, one transaction in the target)', positiveInt, 1000)
    .option('--concurrency <n>', 'chunks written at once', positiveInt, 2)
    .option('--max-chunks-per-second <n>', 'chunks started per second at most', positiveInt, 50)
    .option('--max-lag-ms <ms>', "pause while the target's apply lag (heartbeats) is above this; must be above heartbeat.interval", nonNegative, 5000)
    .option('--max-pause-ms <ms>', 'fail (exit 1, naming what holds the copy) once paused this long in one go; 0: never', nonNegative, 600_000)
    .option('--max-source-threads <n>', "pause while the source runs more threads than this (Threads_running; 0: never)", wholeOrZero, 64)
    .option('--wait-stream-ms <ms>', "how long to wait for the target's daemon to apply every other ezone, and the source to catch up", nonNegative, 30_000)
    .option('--recheck-ms <ms>', 'the final comparison waits this long before re-checking a difference (rows in flight)', nonNegative, 1000)
    .option('--keep-recent-ms <ms>', "rows only the target holds are removed when older than what the source has received from every ezone, less this margin (a transaction's length, clock skew)", nonNegative, 60_000)
    .option('--user <name>', "an account that may create the tables the target lacks (only those statements use it; default: the config's)")
    .option('--password-env <var>', "the environment variable holding --user's password")
    .option('--json', 'print one JSON document at the end')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: Opts) => {
      const config = loadConfig(opts.config);
      ezoneOf(config, opts.ezone);
      ezoneOf(config, opts.from);
      const tables = opts.tables === undefined ? undefined : parseTableList(opts.tables);
      const ddlAccount = accountOf(opts);
      const log = createLogger((process.env.DRC_LOG_LEVEL as 'warn' | undefined) ?? 'warn');
      const tty = !opts.json && process.stderr.isTTY === true;
      let shownAt = 0;
      const onProgress = (p: TableProgress) => {
        if (!tty || Date.now() - shownAt < 500) return;
        shownAt = Date.now();
        process.stderr.write(`\r\x1b[K${formatProgress(p, shownAt)}`);
      };
      let report: BootstrapReport;
      try {
        report = await bootstrap(
          config,
          {
            target: opts.ezone,
            source: opts.from,
            ...(tables ? { tables } : {}),
            ...(ddlAccount ? { ddlAccount } : {}),
            resume: opts.resume === true,
            ...(opts.restart ? { restart: true } : {}),
            ...(opts.allowWeakVersion ? { allowWeakVersion: true } : {}),
            maxPauseMs: opts.maxPauseMs,
            chunkSize: opts.chunkSize,
            concurrency: opts.concurrency,
            maxChunksPerSecond: opts.maxChunksPerSecond,
            maxLagMs: opts.maxLagMs,
            maxSourceThreads: opts.maxSourceThreads,
            waitStreamMs: opts.waitStreamMs,
            recheckDelayMs: opts.recheckMs,
            keepRecentMs: opts.keepRecentMs,
            rechecks: 8,
            onProgress,
            onCreated: (table) => process.stderr.write(`drc: ${table} does not exist in ${opts.ezone}: created it from ${opts.from}'s SHOW CREATE TABLE\n`),
          },
          log,
          async (pool) => new ChunkCopyApplier({ ezone: opts.ezone, pool, flavor: await detectFlavor(pool), config, log }),
        );
      } catch (err) {
        if (opts.json) printJson({ ok: false, ezone: opts.ezone, from: opts.from, error: (err as Error).message });
        throw err;
      } finally {
        if (tty) process.stderr.write('\r\x1b[K');
      }
      if (opts.json) printJson(report);
      else print(report);
      if (!report.ok) throw new CheckFailedError(`the copied tables still differ between ${opts.from} and ${opts.ezone}: ${report.verify.differences.length} difference(s), ${report.verify.schemaDifferences?.length ?? 0} schema difference(s) — see the report; drc verify --repair decides them`);
    });
}

/** The columns of the human report: the JSON's per-table fields. */
export const REPORT_COLUMNS = ['table', 'rows', 'copied', 'skipped', 'removed', 'overtaken', 'chunks', 'created', 'resumed', 'seconds', 'rowsPerSec'];

/** The human (non --json) report: a line per table, the live stream's start point, the final comparison. Pure. */
export function formatReport(report: BootstrapReport): string {
  const lines = [formatTable(report.tables.map((t) => ({ ...t })), REPORT_COLUMNS), ''];
  lines.push(`live stream start point in ${report.ezone}: ${Object.entries(report.startPositions).map(([o, p]) => `${o}@${p}`).join(', ')}`);
  lines.push(`verify ${report.from} ↔ ${report.ezone}: ${report.verify.ok ? 'identical' : `${report.verify.differences.length} difference(s)`} (${report.verify.tables.map((t) => `${t.table} ${t.rows} rows`).join(', ')})`);
  return `${lines.join('\n')}\n`;
}

function print(report: BootstrapReport): void {
  process.stdout.write(formatReport(report));
}
