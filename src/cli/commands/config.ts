import type { Command } from 'commander';
import { ezoneOf, loadConfig, type Deprecation } from '../../config/loader.js';
import type { Config } from '../../config/schema.js';
import { ConfigError, UsageError } from '../../errors.js';
import { EXIT_CODES_HELP, printJson, printTable } from '../output.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('the topology config file');
  config
    .command('check')
    .description('validate a config file (exit 2 naming every bad key); print the ezones it defines')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .option('--ezone <name>', 'also check that this ezone is defined')
    .option('--json', 'print one JSON document (also for a bad file: ok false and the problems)')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((opts: { config: string; ezone?: string; json?: boolean }) => {
      let cfg: Config;
      const deprecated: Deprecation[] = [];
      try {
        cfg = loadConfig(opts.config, process.env, { onDeprecated: (d) => deprecated.push(d) });
        if (opts.ezone) ezoneOf(cfg, opts.ezone);
      } catch (err) {
        // --json promises one document on stdout, also when the answer is "no" (exit 2 all the same).
        if (opts.json && err instanceof ConfigError) printJson({ ok: false, problems: err.problems.map(({ path, message }) => ({ path, message })) });
        else if (opts.json && err instanceof UsageError) printJson({ ok: false, problems: [{ path: 'ezones', message: err.message }] });
        throw err;
      }
      const ezones = Object.entries(cfg.ezones).map(([name, ez]) => ({
        name,
        mysql: `${ez.mysql.host}:${ez.mysql.port}`,
        serverId: ez.serverId,
        kafka: (ez.kafka?.brokers ?? cfg.kafka.brokers).join(','),
      }));
      if (opts.json) return printJson({ ok: true, ezones, topicPrefix: cfg.kafka.topicPrefix, deprecated });
      printTable(ezones, ['name', 'mysql', 'serverId', 'kafka']);
      for (const d of deprecated) process.stdout.write(`deprecated: ${d.path} ${d.message}\n`);
    });
}
