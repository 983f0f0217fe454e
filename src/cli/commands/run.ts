import type { Command } from 'commander';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { startDaemon } from '../../daemon.js';
import { createLogger } from '../../ops/logger.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('the long-lived daemon for one ezone (SIGTERM drains and exits 0)')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .requiredOption('--ezone <name>', 'the ezone this daemon serves')
    .action(async (opts: { config: string; ezone: string }) => {
      const config = loadConfig(opts.config);
      ezoneOf(config, opts.ezone);
      const log = createLogger(config.log.level).child({ ezone: opts.ezone });
      const running = await startDaemon(config, opts.ezone, log);
      log.info('drc running');
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
          running.close().then(resolve, reject);
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
        running.capture.done.catch(reject);
      });
      log.info('drc stopped');
    });
}
