import type { Command } from 'commander';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { runDaemon } from '../../daemon/lifecycle.js';
import { createLogger } from '../../ops/logger.js';
import { daemonRestart } from '../../ops/runtime.js';
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
      // The daemon's runtime (heap sized by the config, glibc arenas: ops/runtime.ts): restart in place.
      const restart = daemonRestart(config, process);
      const restartFailed = restart ? restartInPlace(restart) : undefined;
      const log = createLogger(config.log.level).child({ ezone: opts.ezone });
      if (restartFailed) log.warn({ err: restartFailed }, 'could not restart with the daemon runtime (ops/runtime.ts); running with the runtime as started');
      await runDaemon({
        config,
        ezone: opts.ezone,
        log,
        ...(opts.metricsPort === undefined ? {} : { metricsPort: opts.metricsPort }),
        progressMs: Number(process.env.DRC_PROGRESS_MS ?? 10_000),
      });
    });
}

/** process.execve replaces this process (it returns only on failure: the reason, to run on as started). */
function restartInPlace(restart: { args: string[]; env: NodeJS.ProcessEnv }): string | undefined {
  if (typeof process.execve !== 'function') return 'process.execve is not available on this platform';
  try {
    process.execve(restart.args[0]!, restart.args, restart.env);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
