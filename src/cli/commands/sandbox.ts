import type { Command } from 'commander';
import { createLogger } from '../../ops/logger.js';
import { DEFAULT_SANDBOX_DIR, sandboxDown, sandboxStatus, sandboxUp } from '../../sandbox/sandbox.js';
import { printJson, printTable } from '../output.js';
import { positiveInt } from '../parse.js';

export function registerSandbox(program: Command): void {
  const sandbox = program.command('sandbox').description('local real servers: N MariaDB instances and one Kafka broker');

  sandbox
    .command('up')
    .description('start (or keep) the sandbox servers and write <dir>/drc.yaml')
    .option('--ezones <n>', 'number of ezones (MariaDB servers)', positiveInt)
    .option('--dir <dir>', 'sandbox folder', DEFAULT_SANDBOX_DIR)
    .option('--tls', 'TLS only: a private CA (openssl), MariaDB with require_secure_transport, Kafka with an mTLS SSL listener and a SASL_SSL (SCRAM) one')
    .option('--json', 'print one JSON document')
    .action(async (opts: { ezones?: number; dir: string; json?: boolean; tls?: boolean }) => {
      const info = await sandboxUp({ dir: opts.dir, ezones: opts.ezones, ...(opts.tls ? { tls: true } : {}), log: createLogger() });
      if (opts.json) return printJson(info);
      printTable(
        [
          ...info.ezones.map((e) => ({ service: `mariadb (ezone ${e.name})`, address: `${e.mysql.host}:${e.mysql.port}`, user: e.mysql.user })),
          { service: info.kafka.tls ? 'kafka (SSL, client certificate)' : 'kafka', address: info.kafka.brokers.join(','), user: null },
          ...(info.kafka.sasl ? [{ service: 'kafka (SASL_SSL, SCRAM)', address: info.kafka.sasl.brokers.join(','), user: info.kafka.sasl.username }] : []),
        ],
        ['service', 'address', 'user'],
      );
      process.stdout.write(`\nconfig: ${info.config}\n`);
    });

  sandbox
    .command('down')
    .description('stop every sandbox server and delete its data')
    .option('--dir <dir>', 'sandbox folder', DEFAULT_SANDBOX_DIR)
    .action(async (opts: { dir: string }) => {
      const { dir, stopped } = await sandboxDown({ dir: opts.dir, log: createLogger() });
      process.stdout.write(`stopped ${stopped} process(es) of the sandbox in ${dir}\n`);
    });

  sandbox
    .command('status')
    .description('what runs, with pids')
    .option('--dir <dir>', 'sandbox folder', DEFAULT_SANDBOX_DIR)
    .option('--json', 'print one JSON document')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const status = await sandboxStatus({ dir: opts.dir });
      if (opts.json) return printJson(status);
      if (!status.kafka) {
        process.stdout.write(`no sandbox in ${status.dir}\n`);
        return;
      }
      printTable(
        [
          ...status.ezones.map((e) => ({ service: `mariadb (ezone ${e.name})`, port: e.port, pid: e.pid, state: e.running ? 'running' : 'stopped' })),
          { service: 'kafka', port: status.kafka.port, pid: status.kafka.pid, state: status.kafka.running ? 'running' : 'stopped' },
        ],
        ['service', 'port', 'pid', 'state'],
      );
    });
}
