import type { Command } from 'commander';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { parseDuration } from '../../config/schema.js';
import { CheckFailedError, UsageError } from '../../errors.js';
import { listConflicts } from '../../ops/conflicts.js';
import { runDoctor } from '../../ops/doctor.js';
import { collectLag } from '../../ops/lag.js';
import { verify } from '../../ops/verify.js';
import { createLogger } from '../../ops/logger.js';
import { printJson, printTable } from '../output.js';
import { positiveInt } from '../parse.js';

const quiet = () => createLogger((process.env.DRC_LOG_LEVEL as 'warn' | undefined) ?? 'error');

export function registerOps(program: Command): void {
  program
    .command('lag')
    .description('matrix origin → destination: end-to-end lag, backlog, last applied position, clock skew')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { config: string; json?: boolean }) => {
      const pairs = await collectLag(loadConfig(opts.config), quiet());
      if (opts.json) return printJson({ pairs });
      printTable(
        pairs.map((p) => ({ ...p, error: p.error ?? '' })),
        ['origin', 'destination', 'lagMs', 'backlog', 'skewMs', 'position', 'error'],
      );
    });

  program
    .command('conflicts')
    .description('the conflict report: what collided, how it was decided, and why')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--ezone <name>', 'only conflicts seen in this ezone')
    .option('--since <duration>', 'how far back, e.g. 10m, 24h', '1h')
    .option('--table <schema.table>', 'only this table')
    .option('--limit <n>', 'at most this many per ezone', '1000')
    .option('--json', 'print one JSON document')
    .action(async (opts: { config: string; ezone?: string; since: string; table?: string; limit: string; json?: boolean }) => {
      const config = loadConfig(opts.config);
      if (opts.ezone) ezoneOf(config, opts.ezone);
      const sinceMs = parseDuration(opts.since);
      if (sinceMs === undefined) throw new UsageError(`--since ${opts.since} is not a duration — write it like 10m, 24h or 7d`);
      if (opts.table && !/^[^.]+\.[^.]+$/.test(opts.table)) throw new UsageError('--table takes schema.table');
      const conflicts = await listConflicts(config, { ezone: opts.ezone, sinceMs, table: opts.table, limit: Number(opts.limit) || 1000 });
      if (opts.json) return printJson({ conflicts });
      printTable(
        conflicts.map((c) => ({ at: c.at, ezone: c.ezone, origin: c.origin, table: c.table, key: JSON.stringify(c.key), reason: c.reason, decision: c.decision })),
        ['at', 'ezone', 'origin', 'table', 'key', 'reason', 'decision'],
      );
    });

  program
    .command('verify')
    .description('compare every replicated table across all ezones by primary-key chunks; exit 1 when they differ')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--tables <list>', 'comma-separated schema.table list (default: every replicated table)')
    .option('--ezones <list>', 'comma-separated ezones to compare (default: all)')
    .option('--chunk-size <rows>', 'rows per chunk', positiveInt, 1000)
    .option('--pause-ms <ms>', 'pause between chunks, to spare production servers', (v) => Number(v), 10)
    .option('--recheck-ms <ms>', 'wait this long for replication before re-checking a difference', (v) => Number(v), 2000)
    .option('--repair', 're-apply the last-writer-wins winner where ezones disagree, and record it')
    .option('--json', 'print one JSON document')
    .action(async (opts: { config: string; tables?: string; ezones?: string; chunkSize: number; pauseMs: number; recheckMs: number; repair?: boolean; json?: boolean }) => {
      const config = loadConfig(opts.config);
      const tables = opts.tables?.split(',').map((t) => t.trim()).filter(Boolean);
      if (tables?.some((t) => !/^[^.]+\.[^.]+$/.test(t))) throw new UsageError('--tables takes schema.table[,schema.table…]');
      const ezones = opts.ezones?.split(',').map((e) => e.trim()).filter(Boolean);
      for (const e of ezones ?? []) ezoneOf(config, e);
      const report = await verify(
        config,
        { tables, ...(ezones ? { ezones } : {}), chunkSize: opts.chunkSize, pauseMs: opts.pauseMs, recheckDelayMs: opts.recheckMs, rechecks: 3, repair: opts.repair === true },
        quiet(),
      );
      if (opts.json) printJson(report);
      else {
        printTable(report.tables, ['table', 'rows', 'chunks']);
        if (report.differences.length > 0) {
          process.stdout.write('\n');
          printTable(
            report.differences.map((d) => ({
              table: d.table,
              key: JSON.stringify(d.key),
              ezones: d.ezones.map((e) => `${e.ezone}:${e.present ? (e.version ?? 'present') : 'missing'}`).join(' '),
              repaired: d.repaired ? `${d.repaired.deleted ? 'deleted' : `kept ${d.repaired.winner}'s row`} in ${d.repaired.changed.join(',')}` : '',
            })),
            ['table', 'key', 'ezones', 'repaired'],
          );
        }
      }
      if (!report.ok) throw new CheckFailedError(`${report.differences.length} difference(s) found`);
    });

  program
    .command('doctor')
    .description('preflight checks of every ezone and Kafka; exit 1 on any failure')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--ezone <name>', 'check only this ezone')
    .option('--json', 'print one JSON document')
    .action(async (opts: { config: string; ezone?: string; json?: boolean }) => {
      const config = loadConfig(opts.config);
      if (opts.ezone) ezoneOf(config, opts.ezone);
      const result = await runDoctor(config, quiet(), opts.ezone);
      if (opts.json) printJson(result);
      else
        printTable(
          result.checks.map((c) => ({ ezone: c.ezone, check: c.check, result: c.ok ? (c.warning ? 'warn' : 'ok') : 'FAIL', message: c.message })),
          ['ezone', 'check', 'result', 'message'],
        );
      if (!result.ok) throw new CheckFailedError(`${result.checks.filter((c) => !c.ok).length} check(s) failed`);
    });
}
