import type { Command } from 'commander';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { startDaemon } from '../../daemon.js';
import { evaluateHealth } from '../../ops/health.js';
import { startHttp } from '../../ops/http.js';
import { createLogger } from '../../ops/logger.js';
import { createMetrics } from '../../ops/metrics.js';
import { positiveInt } from '../parse.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('the long-lived daemon for one ezone (SIGTERM drains and exits 0)')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .requiredOption('--ezone <name>', 'the ezone this daemon serves')
    .option('--metrics-port <port>', 'serve /metrics and /healthz on this port', positiveInt)
    .action(async (opts: { config: string; ezone: string; metricsPort?: number }) => {
      const config = loadConfig(opts.config);
      ezoneOf(config, opts.ezone);
      const log = createLogger(config.log.level).child({ ezone: opts.ezone });
      const running = await startDaemon(config, opts.ezone, log);
      const server =
        opts.metricsPort === undefined
          ? undefined
          : await startHttp(opts.metricsPort, createMetrics(running), () =>
              evaluateHealth(running, { maxLagMs: config.health.maxLag, stuckAfterMs: config.health.stuckAfter }, running.startedAt),
            );
      log.info({ metricsPort: opts.metricsPort }, 'drc running');
      const progress = setInterval(() => {
        log.debug({ ...running.capture.stats }, 'capture progress');
        for (const [origin, a] of running.appliers) log.debug({ origin, ...a.stats }, 'apply progress');
      }, Number(process.env.DRC_PROGRESS_MS ?? 10_000));
      progress.unref();
      await new Promise<void>((resolve, reject) => {
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals++;
          if (signals > 1) {
            log.warn({ signal }, 'second signal: exiting now');
            process.exit(1);
          }
          log.info({ signal }, 'draining');
          // Watchdog: a drain that hangs must not keep the process alive forever.
          setTimeout(() => process.exit(1), 30_000).unref();
          server?.close();
          running.close().then(resolve, reject);
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
        running.capture.done.catch(reject);
      });
      log.info('drc stopped');
    });
}
