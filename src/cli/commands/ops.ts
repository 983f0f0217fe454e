import type { Command } from 'commander';
import { conflictReport } from '../../admin/conflicts.js';
import { SingleChangeApplier } from '../../apply/repair-applier.js';
import { runDoctor } from '../../admin/doctor.js';
import type { BootstrapProgress } from '../../admin/bootstrap-state.js';
import { collectLag } from '../../admin/lag.js';
import { verify, type VerifyReport } from '../../admin/verify.js';
import { parseTableList } from '../../admin/verify-names.js';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { parseDuration, type Config } from '../../config/schema.js';
import { detectFlavor } from '../../db/connect.js';
import { ensureMetaSchema } from '../../db/meta-schema.js';
import { readRouting } from '../../db/routing-store.js';
import { RoutingBook } from '../../model/routing.js';
import { CheckFailedError, UnreachableError, UsageError } from '../../errors.js';
import type { BrokerInspector } from '../../model/ports.js';
import { createLogger, type Logger } from '../../ops/logger.js';
import { createBrokerInspector } from '../../transport/select.js';
import { EXIT_CODES_HELP, printJson, printTable } from '../output.js';
import { positiveInt } from '../parse.js';

const quiet = () => createLogger((process.env.DRC_LOG_LEVEL as 'warn' | undefined) ?? 'error');

/** The admin tools' view of Kafka (model/ports.ts), closed when `use` is done. */
async function withBrokers<T>(config: Config, tool: string, log: Logger, use: (brokers: BrokerInspector) => Promise<T>): Promise<T> {
  const brokers = await createBrokerInspector(config.kafka, `${config.kafka.clientId}-${tool}`, log);
  try {
    return await use(brokers);
  } finally {
    await brokers.close();
  }
}

export function registerOps(program: Command): void {
  registerLag(program);
  registerConflicts(program);
  registerVerify(program);
  registerDoctor(program);
}

function registerLag(program: Command): void {
  program
    .command('lag')
    .description('matrix origin → destination: end-to-end lag, backlog, last applied position, clock skew; exit 3 when a server cannot be read')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--json', 'print one JSON document')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: { config: string; json?: boolean }) => {
      const config = loadConfig(opts.config);
      const log = quiet();
      const bootstraps: BootstrapProgress[] = [];
      const pairs = await withBrokers(config, 'lag', log, (brokers) => collectLag(config, log, brokers, bootstraps));
      if (opts.json) printJson({ pairs, ...(bootstraps.length > 0 ? { bootstraps } : {}) });
      else {
        printTable(
          pairs.map((p) => ({ ...p, note: p.error ?? p.hint ?? p.skewReason ?? '' })),
          ['origin', 'destination', 'lagMs', 'backlog', 'skewMs', 'position', 'note'],
        );
        if (bootstraps.length > 0) {
          process.stdout.write('\nbootstraps not verified yet (drc bootstrap):\n');
          printTable(bootstraps.map((b) => ({ ...b, rows: `${b.rowsCopied}${b.rowsEstimate !== null ? ` / ~${b.rowsEstimate}` : ''}` })), ['ezone', 'table', 'from', 'status', 'rows', 'chunks', 'updatedAt']);
        }
      }
      const unread = new Set(pairs.flatMap((p) => (p.error ? p.error.split('; ') : [])));
      if (unread.size > 0) throw new UnreachableError(`${unread.size} server(s) could not be reached or read: see the error of each pair`);
    });
}

function registerConflicts(program: Command): void {
  program
    .command('conflicts')
    .description('the conflict report: what collided, how it was decided, and why')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--ezone <name>', 'only conflicts seen in this ezone')
    .option('--since <duration>', 'how far back, e.g. 10m, 24h', '1h')
    .option('--table <schema.table>', 'only this table')
    .option('--limit <n>', 'list at most the newest n per ezone (the total is counted anyway)', positiveInt, 1000)
    .option('--json', 'print one JSON document')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: { config: string; ezone?: string; since: string; table?: string; limit: number; json?: boolean }) => {
      const config = loadConfig(opts.config);
      if (opts.ezone) ezoneOf(config, opts.ezone);
      const sinceMs = parseDuration(opts.since);
      if (sinceMs === undefined) throw new UsageError(`--since ${opts.since} is not a duration — write it like 10m, 24h or 7d`);
      if (opts.table && !/^[^.]+\.[^.]+$/.test(opts.table)) throw new UsageError('--table takes schema.table');
      const report = await conflictReport(config, { ezone: opts.ezone, sinceMs, table: opts.table, limit: opts.limit });
      if (opts.json) return printJson(report);
      printTable(
        report.conflicts.map((c) => ({ at: c.at, ezone: c.ezone, origin: c.origin, table: c.table, key: JSON.stringify(c.key), reason: c.reason, decision: c.decision })),
        ['at', 'ezone', 'origin', 'table', 'key', 'reason', 'decision'],
      );
      if (report.truncated) {
        process.stdout.write(`\nshowing ${report.conflicts.length} of ${report.total} conflicts (the newest ${opts.limit} per ezone): raise --limit, or narrow with --since, --table or --ezone\n`);
      }
    });
}

interface VerifyOpts {
  config: string;
  tables?: string;
  ezones?: string;
  chunkSize: number;
  pauseMs: number;
  recheckMs: number;
  concurrency: number;
  repair?: boolean;
  json?: boolean;
}

function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('compare every replicated table across all ezones by primary-key chunks; exit 1 when they differ, 3 when an ezone cannot be reached')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--tables <list>', 'comma-separated schema.table list; a name with a dot, comma or backtick in backticks, a backtick inside doubled: `my.db`.t,db.`we``ird` (default: every replicated table)')
    .option('--ezones <list>', 'comma-separated ezones to compare (default: all)')
    .option('--chunk-size <rows>', 'rows per chunk', positiveInt, 1000)
    .option('--concurrency <n>', 'chunk comparisons running at once, across tables', positiveInt, 2)
    .option('--pause-ms <ms>', 'pause after each chunk (per concurrent comparison), to spare production servers', (v) => Number(v), 10)
    .option('--recheck-ms <ms>', 'wait this long for replication before re-checking a difference', (v) => Number(v), 2000)
    .option('--repair', 're-apply the last-writer-wins winner where ezones disagree, and record it')
    .option('--json', 'print one JSON document')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: VerifyOpts) => {
      const config = loadConfig(opts.config);
      const tables = opts.tables === undefined ? undefined : parseTableList(opts.tables);
      const ezones = opts.ezones?.split(',').map((e) => e.trim()).filter(Boolean);
      for (const e of ezones ?? []) ezoneOf(config, e);
      let report: VerifyReport;
      const log = quiet();
      try {
        report = await verify(
          config,
          { tables, ...(ezones ? { ezones } : {}), chunkSize: opts.chunkSize, pauseMs: opts.pauseMs, concurrency: opts.concurrency, recheckDelayMs: opts.recheckMs, rechecks: 3, repair: opts.repair === true },
          log,
          async (ezone, pool) => {
            // The repair writes DRC's marker (and records itself) in drc_meta, which a daemon creates:
            // an ezone where none has run yet gets it now (idempotent, migrations under a lock).
            const conn = await pool.getConnection();
            let routing: RoutingBook;
            try {
              await ensureMetaSchema(conn);
              // Owners as the routing in force says (a switchover moved shards since the config's seed).
              routing = new RoutingBook(await readRouting(conn, config.kafka.topicPrefix));
            } finally {
              conn.release();
            }
            return new SingleChangeApplier({ ezone, pool, flavor: await detectFlavor(pool), config, routing, log });
          },
        );
      } catch (err) {
        if (err instanceof UnreachableError && opts.json) printJson({ ok: false, error: err.message, tables: [], differences: [] });
        throw err;
      }
      if (opts.json) printJson(report);
      else printVerifyReport(report);
      if (!report.ok) throw new CheckFailedError(`${report.differences.length} difference(s) and ${report.schemaDifferences?.length ?? 0} schema difference(s) found`);
    });
}

function printVerifyReport(report: VerifyReport): void {
  printTable(report.tables, ['table', 'rows', 'chunks']);
  if (report.skipped) {
    process.stdout.write('\nnot compared:\n');
    printTable(report.skipped.map((d) => ({ ...d })), ['table', 'reason']);
  }
  if (report.schemaDifferences) {
    process.stdout.write('\n');
    printTable(report.schemaDifferences.map((d) => ({ ...d })), ['table', 'ezone', 'detail']);
  }
  if (report.differences.length === 0) return;
  process.stdout.write('\n');
  printTable(
    report.differences.map((d) => ({
      table: d.table,
      key: JSON.stringify(d.key),
      ezones: d.ezones.map((e) => `${e.ezone}:${e.present ? (e.version ?? 'present') : 'missing'}`).join(' '),
      repaired: d.repaired
        ? `${d.repaired.deleted ? 'deleted' : `kept ${d.repaired.winner}'s row`} in ${d.repaired.changed.join(',')}${d.repaired.stillDifferent ? `; still differs in ${d.repaired.stillDifferent.join(',')}` : ''}`
        : '',
    })),
    ['table', 'key', 'ezones', 'repaired'],
  );
}

function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('preflight checks of every ezone and Kafka; exit 1 on any failure (an unreachable server is a failed check)')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--ezone <name>', 'check only this ezone')
    .option('--json', 'print one JSON document')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: { config: string; ezone?: string; json?: boolean }) => {
      const config = loadConfig(opts.config);
      if (opts.ezone) ezoneOf(config, opts.ezone);
      const result = await withBrokers(config, 'doctor', quiet(), (brokers) => runDoctor(config, brokers, opts.ezone));
      if (opts.json) printJson(result);
      else
        printTable(
          result.checks.map((c) => ({ ezone: c.ezone, check: c.check, result: c.ok ? (c.warning ? 'warn' : 'ok') : 'FAIL', message: c.message })),
          ['ezone', 'check', 'result', 'message'],
        );
      if (!result.ok) throw new CheckFailedError(`${result.checks.filter((c) => !c.ok).length} check(s) failed`);
    });
}
