import type { Command } from 'commander';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { runDaemon } from '../../daemon/lifecycle.js';
import { createLogger } from '../../ops/logger.js';
import { positiveInt } from '../parse.js';

/** `drc run`: parse, load the config, and hand over to the daemon's lifecycle (daemon/lifecycle.ts). */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('the long-lived daemon for one ezone; a second one for the same ezone stands by (SIGTERM drains and exits 0)')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .requiredOption('--ezone <name>', 'the ezone this daemon serves')
    .option('--metrics-port <port>', 'serve /metrics and /healthz on this port', positiveInt)
    .action(async (opts: { config: string; ezone: string; metricsPort?: number }) => {
      const config = loadConfig(opts.config);
      ezoneOf(config, opts.ezone);
      const log = createLogger(config.log.level).child({ ezone: opts.ezone });
      await runDaemon({
        config,
        ezone: opts.ezone,
        log,
        ...(opts.metricsPort === undefined ? {} : { metricsPort: opts.metricsPort }),
        progressMs: Number(process.env.DRC_PROGRESS_MS ?? 10_000),
      });
    });
}
