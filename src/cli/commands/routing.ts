/**
 * Moving shards between ezones (issue 17, DESIGN.md section 12): `drc routing`, `drc guard
 * install|remove`, `drc switchover`. Exit codes: 0 ok, 1 a check failed (drift, a refused or rolled-back
 * switchover), 2 bad usage or config, 3 an ezone's database could not be reached.
 */
import type { Command } from 'commander';
import { runGuard } from '../../admin/guard.js';
import { routingReport } from '../../admin/routing.js';
import { switchover, type RoutingEvent, type SwitchoverResult } from '../../admin/switchover.js';
import type { SwitchoverState } from '../../admin/switchover-plan.js';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { parseDuration, type Config } from '../../config/schema.js';
import { CheckFailedError, UnreachableError, UsageError } from '../../errors.js';
import { parseShardRange } from '../../model/routing.js';
import { routingTopic } from '../../model/topics.js';
import { createLogger, type Logger } from '../../ops/logger.js';
import { createTransport } from '../../transport/select.js';
import { EXIT_CODES_HELP, printJson, printTable, type Row } from '../output.js';
import { accountOf } from './triggers.js';

const quiet = () => createLogger((process.env.DRC_LOG_LEVEL as 'warn' | undefined) ?? 'error');

export function registerRouting(program: Command): void {
  program
    .command('routing')
    .description('the routing each ezone has applied: version, owners by shard range, bans, drift from the config')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--json', 'print one JSON document')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: { config: string; json?: boolean }) => {
      const config = loadConfig(opts.config);
      const report = await routingReport(config);
      if (opts.json) printJson(report);
      else {
        printTable(
          report.ezones.flatMap((e): Row[] =>
            e.error
              ? [{ ezone: e.ezone, version: '-', shards: '-', owner: '-', state: e.error }]
              : e.owners.length === 0
                ? [{ ezone: e.ezone, version: e.version, shards: '-', owner: '-', state: 'not seeded (no daemon has run here)' }]
                : e.owners.map((o) => ({ ezone: e.ezone, version: e.version, shards: o.shards, owner: o.owner, state: o.state === 'banned' ? `banned → ${o.movingTo ?? '?'}` : o.state })),
          ),
          ['ezone', 'version', 'shards', 'owner', 'state'],
        );
        if (!report.consistent) process.stdout.write('\nthe ezones have applied different routing versions (replication in progress, or stopped)\n');
      }
      const unreachable = report.ezones.filter((e) => e.error);
      if (unreachable.length > 0) throw new UnreachableError(unreachable.map((e) => e.error).join('; '));
    });

  const guard = program.command('guard').description("triggers that refuse local writes to rows this ezone does not own or that are banned (DRC's applier passes)");
  for (const action of ['install', 'remove'] as const) {
    guard
      .command(action)
      .description(action === 'install' ? 'install the guard triggers on every hash-sharded table (ownership.tables), in every ezone' : 'remove the guard triggers')
      .requiredOption('--config <file>', 'topology config (YAML)')
      .option('--tables <list>', 'comma-separated schema.table list (default: every hash-sharded table)')
      .option('--ezone <name>', 'only this ezone (default: every ezone)')
      .option('--user <name>', "an account with the TRIGGER privilege to use instead of the config's")
      .option('--password-env <var>', "the environment variable holding --user's password")
      .option('--json', 'print one JSON document')
      .addHelpText('after', EXIT_CODES_HELP)
      .action(async (opts: { config: string; tables?: string; ezone?: string; user?: string; passwordEnv?: string; json?: boolean }) => {
        const config = loadConfig(opts.config);
        if (opts.ezone) ezoneOf(config, opts.ezone);
        const account = accountOf(opts);
        const tables = opts.tables?.split(',').map((t) => t.trim()).filter(Boolean);
        const report = await runGuard(config, action, { ...(tables ? { tables } : {}), ...(opts.ezone ? { ezone: opts.ezone } : {}), ...(account ? { account } : {}) });
        if (opts.json) printJson(report);
        else {
          printTable(report.tables.map((t) => ({ ezone: t.ezone, table: t.table, status: t.status, triggers: t.triggers.join(','), reason: t.reason })), ['ezone', 'table', 'status', 'triggers', 'reason']);
          for (const line of report.unreachable) process.stdout.write(`\n${line}\n`);
          if (report.tables.length === 0 && report.unreachable.length === 0) process.stdout.write('no hash-sharded table under ownership.tables: nothing to guard\n');
        }
        if (report.unreachable.length > 0) throw new UnreachableError(report.unreachable.join('; '));
        if (!report.ok) throw new CheckFailedError('the guard could not be set up on some tables: see their reasons');
      });
  }

  program
    .command('switchover')
    .description('move shards to another ezone: ban them, wait until every ezone applied the ban and the new owner applied the old owner\'s writes, flip the owner, lift the ban; rolls back on timeout')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--shards <range>', 'inclusive shard range, e.g. 0-511')
    .option('--to <ezone>', 'the new owner')
    .option('--timeout <duration>', 'how long each run may wait for replication before rolling back', '30s')
    .option('--resume', 'finish (or roll back) an unfinished switchover')
    .option('--force', 'emergency, when the old owner is unreachable: flip the shards to --to at once in the reachable ezones, with no ban and no fence (its writes that had not arrived are recorded as ownership violations when they do)')
    .option('--json', 'print one JSON document')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: { config: string; shards?: string; to?: string; timeout: string; resume?: boolean; force?: boolean; json?: boolean }) => {
      const config = loadConfig(opts.config);
      const timeoutMs = parseDuration(opts.timeout);
      if (timeoutMs === undefined) throw new UsageError(`--timeout ${opts.timeout} is not a duration — write it like 500ms, 30s or 5m`);
      const shards = opts.shards === undefined ? undefined : parseShardRange(opts.shards);
      if (opts.shards !== undefined && !shards) throw new UsageError(`--shards ${opts.shards}: write an inclusive range like 0-511, or one shard`);
      if (opts.to) ezoneOf(config, opts.to);
      if (!opts.resume && (!shards || !opts.to)) throw new UsageError('--shards and --to are required (or --resume)');
      if (opts.force && (opts.resume || !shards || !opts.to)) throw new UsageError('--force takes --shards and --to, not --resume');
      const log = quiet();
      const publisher = await routingPublisher(config, log);
      let result: SwitchoverResult;
      try {
        result = await switchover(config, {
          ...(shards ? { shards } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          timeoutMs,
          resume: opts.resume === true,
          force: opts.force === true,
          log,
          ...(publisher ? { publish: publisher.publish } : {}),
          onStep: testHookHangAt,
        });
      } finally {
        await publisher?.close();
      }
      if (opts.json) printJson(result);
      else {
        printTable(result.steps.map((s) => ({ ...s })), ['step', 'ms']);
        process.stdout.write(`\nswitchover ${result.id ?? '-'} of shards ${result.shards ?? '-'} from ${result.from ?? '-'} to ${result.to ?? '-'}: ${result.state}${result.reason ? ` (${result.reason})` : ''}\n`);
      }
      if (result.state === 'rolled-back') throw new CheckFailedError(`switchover rolled back: ${result.reason ?? ''}`);
      if (result.state !== 'done' && result.state !== 'none') throw new CheckFailedError(`switchover stopped at ${result.state}: ${result.reason ?? ''}`);
    });
}

/** Publishes routing changes on `<prefix>.routing`; none (a warning) when Kafka cannot be reached: drc_meta is the record. */
async function routingPublisher(config: Config, log: Logger): Promise<{ publish: (e: RoutingEvent) => Promise<void>; close: () => Promise<void> } | undefined> {
  try {
    const kafka = await createTransport(config.kafka, { clientId: `${config.kafka.clientId}-switchover`, log });
    const topic = routingTopic(config.kafka.topicPrefix);
    await kafka.ensureTopics([{ topic, partitions: 1, replicationFactor: config.kafka.replicationFactor }]);
    const events = kafka.eventPublisher(config.kafka.maxMessageBytes);
    await events.connect();
    return {
      publish: (e) => events.publish([{ topic, key: e.shards, value: Buffer.from(JSON.stringify(e)) }]),
      close: async () => {
        await events.close().catch(() => undefined);
        await kafka.close().catch(() => undefined);
      },
    };
  } catch (err) {
    process.stderr.write(`drc: warning: routing changes will not be published on ${routingTopic(config.kafka.topicPrefix)}: ${(err as Error).message}\n`);
    return undefined;
  }
}

/**
 * TEST HOOK, not an operator setting: DRC_TEST_HOOK_SWITCHOVER_HANG_AT=<state> makes `drc switchover`
 * stop right after persisting that step until killed. Only test/integration/switchover.test.ts sets it
 * (a run killed at every step must resume); the README lists it under the test hooks. Unset: no effect.
 */
async function testHookHangAt(state: SwitchoverState): Promise<void> {
  if (process.env.DRC_TEST_HOOK_SWITCHOVER_HANG_AT !== state) return;
  process.stderr.write(`drc: switchover hanging at ${state}\n`);
  await new Promise(() => setInterval(() => undefined, 60_000));
}
