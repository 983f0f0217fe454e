/**
 * `drc quarantine list|retry|drop --config F [--ezone A] [--id N] [--json]` (DESIGN.md section 12):
 * source transactions set aside under `apply.onError: quarantine`. Exit codes: 0 ok, 1 a retry failed
 * again, 2 bad usage (no such record, already resolved), 3 an ezone's database could not be reached.
 */
import type { Command } from 'commander';
import { dropQuarantined, listQuarantine, retryQuarantined, type QuarantineEntry } from '../../admin/quarantine.js';
import { QuarantineRetrier } from '../../apply/quarantine-retry.js';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import type { Config } from '../../config/schema.js';
import { detectFlavor } from '../../db/connect.js';
import { readRouting } from '../../db/routing-store.js';
import { RoutingBook } from '../../model/routing.js';
import { UnreachableError, UsageError } from '../../errors.js';
import { createLogger } from '../../ops/logger.js';
import { EXIT_CODES_HELP, printJson, printTable } from '../output.js';
import { positiveInt } from '../parse.js';

interface Opts {
  config: string;
  ezone?: string;
  id?: number;
  reason?: string;
  json?: boolean;
}

const quiet = () => createLogger((process.env.DRC_LOG_LEVEL as 'warn' | undefined) ?? 'error');

function print(entries: QuarantineEntry[], json: boolean | undefined): void {
  if (json) return printJson({ quarantined: entries });
  printTable(
    entries.map((e) => ({ id: e.id, ezone: e.ezone, origin: e.origin, txId: e.txId, offset: e.kafka.offset, tables: e.tables.join(','), code: e.code, state: e.state, at: e.at, message: e.message })),
    ['id', 'ezone', 'origin', 'txId', 'offset', 'tables', 'code', 'state', 'at', 'message'],
  );
}

/** The ezone holding open record `id`: the one named, or the only one that has it. */
async function ezoneOfRecord(config: Config, opts: Opts): Promise<{ ezone: string; id: number }> {
  if (opts.id === undefined) throw new UsageError('--id is required: see drc quarantine list');
  if (opts.ezone) {
    ezoneOf(config, opts.ezone);
    return { ezone: opts.ezone, id: opts.id };
  }
  const { quarantined, unreachable } = await listQuarantine(config, { id: opts.id });
  const open = quarantined.filter((e) => e.state === 'quarantined');
  if (open.length === 1) return { ezone: open[0]!.ezone, id: opts.id };
  if (open.length === 0 && unreachable.length > 0) throw new UnreachableError(unreachable.join('; '));
  throw new UsageError(open.length === 0 ? `no open quarantined transaction ${opts.id} in any ezone` : `ezones ${open.map((e) => e.ezone).join(', ')} each have a record ${opts.id}: name one with --ezone`);
}

export function registerQuarantine(program: Command): void {
  const q = program.command('quarantine').description('source transactions set aside under apply.onError: quarantine: list, retry or drop them');
  const common = (c: Command) =>
    c
      .requiredOption('--config <file>', 'topology config (YAML)')
      .option('--ezone <name>', 'the ezone whose applier quarantined it (default: every ezone / the only one holding the id)')
      .option('--id <n>', 'the record id (see list)', positiveInt)
      .option('--json', 'print one JSON document')
      .addHelpText('after', EXIT_CODES_HELP);
  common(q.command('list').description('every quarantined transaction, newest first; exit 3 when an ezone cannot be read')).action(async (opts: Opts) => {
    const config = loadConfig(opts.config);
    if (opts.ezone) ezoneOf(config, opts.ezone);
    const { quarantined, unreachable } = await listQuarantine(config, { ...(opts.ezone ? { ezone: opts.ezone } : {}), ...(opts.id ? { id: opts.id } : {}) });
    print(quarantined, opts.json);
    if (unreachable.length > 0) throw new UnreachableError(unreachable.join('; '));
  });
  common(q.command('retry').description('apply a quarantined transaction again once its cause is fixed; exit 1 when it fails again')).action(async (opts: Opts) => {
    const config = loadConfig(opts.config);
    const { ezone, id } = await ezoneOfRecord(config, opts);
    const log = quiet();
    const entry = await retryQuarantined(config, ezone, id, async (name, pool) => new QuarantineRetrier({ ezone: name, pool, flavor: await detectFlavor(pool), config, routing: new RoutingBook(await readRouting(pool, config.kafka.topicPrefix)), log }));
    print([entry], opts.json);
  });
  common(q.command('drop').description('give up on a quarantined transaction (recorded; its keys may differ between ezones)'))
    .option('--reason <text>', 'why, recorded with it', 'dropped by the operator')
    .action(async (opts: Opts) => {
      const config = loadConfig(opts.config);
      const { ezone, id } = await ezoneOfRecord(config, opts);
      print([await dropQuarantined(config, ezone, id, opts.reason)], opts.json);
    });
}
