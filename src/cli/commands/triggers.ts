/**
 * `drc triggers guard --config F [--ezone A] [--dry-run] [--json]` (DESIGN.md section 12): rewrites
 * every trigger on a replicated table so that it skips DRC's applier sessions. Exit codes: 0 every
 * trigger guarded (or already), 1 a trigger failed or stays unguarded, 2 bad usage or config, 3 an
 * ezone's database could not be reached or read.
 */
import type { Command } from 'commander';
import { guardTriggers, type GuardReport } from '../../admin/triggers.js';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { CheckFailedError, UnreachableError, UsageError } from '../../errors.js';
import { EXIT_CODES_HELP, printJson, printTable } from '../output.js';

interface Opts {
  config: string;
  ezone?: string;
  dryRun?: boolean;
  json?: boolean;
  user?: string;
  passwordEnv?: string;
}

function print(report: GuardReport, json: boolean | undefined): void {
  if (json) return printJson(report);
  printTable(
    report.triggers.map((t) => ({ ezone: t.ezone, trigger: t.trigger, table: t.table, when: `${t.timing} ${t.event}`, status: t.status, reason: t.reason })),
    ['ezone', 'trigger', 'table', 'when', 'status', 'reason'],
  );
  for (const t of report.triggers.filter((e) => e.status === 'would-guard')) {
    process.stdout.write(`\n-- ezone ${t.ezone}, ${t.trigger}: would run\n${t.statements!.join(';\n')};\n`);
  }
  for (const line of report.unreachable) process.stdout.write(`\n${line}\n`);
  const count = (s: string) => report.triggers.filter((t) => t.status === s).length;
  process.stdout.write(
    `\n${report.triggers.length} trigger(s) on replicated tables: ${count(report.dryRun ? 'would-guard' : 'guarded')} ${report.dryRun ? 'would be guarded (dry run: nothing written)' : 'guarded'}, ${count('already-guarded')} already guarded, ${count('skipped')} skipped, ${count('failed')} failed\n`,
  );
}

/** The account to guard with (or, for bootstrap, to create tables with): --user and the password in --password-env, else the config's. */
export function accountOf(opts: Pick<Opts, 'user' | 'passwordEnv'>): { user: string; password: string } | undefined {
  if (!opts.user && !opts.passwordEnv) return undefined;
  if (!opts.user) throw new UsageError('--password-env goes with --user');
  if (!opts.passwordEnv) return { user: opts.user, password: '' };
  const password = process.env[opts.passwordEnv];
  if (password === undefined) throw new UsageError(`--password-env ${opts.passwordEnv}: no such environment variable`);
  return { user: opts.user, password };
}

export function registerTriggers(program: Command): void {
  const triggers = program.command('triggers').description("triggers on replicated tables and DRC's applier sessions");
  triggers
    .command('guard')
    .description("rewrite every trigger on a replicated table so that it does nothing in DRC's applier sessions (@drc_applier set), as native row-based replicas do not fire triggers; keeps definer, sql_mode, character sets and order; idempotent")
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--ezone <name>', 'only this ezone (default: every ezone)')
    .option('--dry-run', 'show what would change per trigger; write nothing')
    .option('--user <name>', "an account to guard with instead of the config's (needs TRIGGER, and SUPER or SET USER for triggers defined by another account)")
    .option('--password-env <var>', "the environment variable holding --user's password")
    .option('--json', 'print one JSON document')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: Opts) => {
      const config = loadConfig(opts.config);
      if (opts.ezone) ezoneOf(config, opts.ezone);
      const account = accountOf(opts);
      const report = await guardTriggers(config, { ezone: opts.ezone, dryRun: opts.dryRun ?? false, ...(account ? { account } : {}) });
      print(report, opts.json);
      if (report.unreachable.length > 0) throw new UnreachableError(`${report.unreachable.length} ezone(s) could not be reached or read: ${report.unreachable.join('; ')}`);
      if (!report.ok) throw new CheckFailedError('some triggers are not guarded: see their reasons');
    });
}
