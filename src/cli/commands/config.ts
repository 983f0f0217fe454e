import type { Command } from 'commander';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import type { Config } from '../../config/schema.js';
import { ConfigError, UsageError } from '../../errors.js';
import { printJson, printTable } from '../output.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('the topology config file');
  config
    .command('check')
    .description('validate a config file (exit 2 naming every bad key); print the ezones it defines')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--ezone <name>', 'also check that this ezone is defined')
    .option('--json', 'print one JSON document')
    .action((opts: { config: string; ezone?: string; json?: boolean }) => {
      let cfg: Config;
      try {
        cfg = loadConfig(opts.config);
        if (opts.ezone) ezoneOf(cfg, opts.ezone);
      } catch (err) {
        // --json promises one document on stdout, also when the answer is "no" (exit 2 all the same).
        if (opts.json && err instanceof ConfigError) printJson({ ok: false, problems: err.problems.map(({ path, message }) => ({ path, message })) });
        else if (opts.json && err instanceof UsageError) printJson({ ok: false, problems: [{ path: '', message: err.message }] });
        throw err;
      }
      const ezones = Object.entries(cfg.ezones).map(([name, ez]) => ({
        name,
        mysql: `${ez.mysql.host}:${ez.mysql.port}`,
        serverId: ez.serverId,
        kafka: (ez.kafka?.brokers ?? cfg.kafka.brokers).join(','),
      }));
      if (opts.json) return printJson({ ok: true, ezones, topicPrefix: cfg.kafka.topicPrefix });
      printTable(ezones, ['name', 'mysql', 'serverId', 'kafka']);
    });
}
