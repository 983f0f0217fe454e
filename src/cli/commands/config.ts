import type { Command } from 'commander';
import { ezoneOf, loadConfig } from '../../config/loader.js';
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
      const cfg = loadConfig(opts.config);
      if (opts.ezone) ezoneOf(cfg, opts.ezone);
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
