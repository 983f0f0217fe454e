import type { Command } from 'commander';
import { createLogger } from '../../ops/logger.js';
import { sandboxUp } from '../../sandbox/sandbox.js';
import { printTable } from '../output.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('sandbox up + a daemon per ezone + a mixed workload, with live lag and conflicts')
    .option('--dir <dir>', 'sandbox folder', '.drc-sandbox')
    .action(async (opts: { dir: string }) => {
      const info = await sandboxUp({ dir: opts.dir, ezones: 2, log: createLogger() });
      process.stdout.write('DRC demo: the sandbox is up.\n\n');
      printTable(
        [
          ...info.ezones.map((e) => ({ service: `mariadb (ezone ${e.name})`, address: `${e.mysql.host}:${e.mysql.port}` })),
          { service: 'kafka', address: info.kafka.brokers.join(',') },
        ],
        ['service', 'address'],
      );
      process.stdout.write(
        [
          '',
          `config: ${info.config}`,
          'coming soon: one daemon per ezone, a mixed workload with deliberate conflicts, and a live view of lag and conflicts.',
          `stop the servers with: drc sandbox down --dir ${opts.dir}`,
          '',
        ].join('\n'),
      );
    });
}
