import type { Command } from 'commander';
import { ezoneOf, loadConfig } from '../../config/loader.js';
import { startDaemon, type Daemon } from '../../daemon.js';
import { createPool, detectFlavor } from '../../db/connect.js';
import { ensureMetaSchema } from '../../db/meta-schema.js';
import { evaluateHealth } from '../../ops/health.js';
import { startHttp } from '../../ops/http.js';
import { LeaderLease } from '../../ops/leader.js';
import { createLogger } from '../../ops/logger.js';
import { createMetrics, type DaemonView } from '../../ops/metrics.js';
import { DAEMON_NODE_OPTIONS, heapWarning } from '../../ops/runtime.js';
import { positiveInt } from '../parse.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('the long-lived daemon for one ezone; a second one for the same ezone stands by (SIGTERM drains and exits 0)')
    .requiredOption('--config <file>', 'topology config (YAML)')
    .requiredOption('--ezone <name>', 'the ezone this daemon serves')
    .option('--metrics-port <port>', 'serve /metrics and /healthz on this port', positiveInt)
    .action(async (opts: { config: string; ezone: string; metricsPort?: number }) => {
      const config = loadConfig(opts.config);
      const ez = ezoneOf(config, opts.ezone);
      const log = createLogger(config.log.level).child({ ezone: opts.ezone });
      const heap = heapWarning(config);
      if (heap) {
        log.warn(
          { ...heap, nodeOptions: DAEMON_NODE_OPTIONS },
          `the V8 heap limit (${heap.limitMb} MB) is below what ${Object.keys(config.ezones).length - 1} origin(s) of apply.maxBufferBytes may need (${heap.needMb} MB): raise --max-old-space-size in NODE_OPTIONS, or lower apply.maxBufferBytes`,
        );
      }

      const state: { running?: Daemon; stopping: boolean } = { stopping: false };
      let signals = 0;
      let onStop: (() => void) | undefined;
      const stopped = new Promise<void>((resolve) => (onStop = resolve));
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          log.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        log.info({ signal }, state.running ? 'draining' : 'stopping (was standing by)');
        state.stopping = true;
        // Watchdog: a drain that hangs must not keep the process alive forever.
        setTimeout(() => process.exit(1), 30_000).unref();
        onStop?.();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);

      // One active daemon per ezone: wait for the lease (standby), then run.
      const leasePool = createPool(ez.mysql, 2);
      const conn = await leasePool.getConnection();
      try {
        await ensureMetaSchema(conn);
      } finally {
        conn.release();
      }
      const flavor = ez.mysql.flavor === 'auto' ? await detectFlavor(leasePool) : ez.mysql.flavor;
      const lease = new LeaderLease(leasePool, flavor, opts.ezone, config.ha.lease, log.child({ component: 'ha' }));
      // /metrics and /healthz answer from the start: a standby reports itself healthy (role standby).
      const idle = { transactions: 0, appliedTransactions: 0, rowChanges: 0, messages: 0, restarts: 0, wrongWrites: 0, committedPosition: '', coveredPosition: '', lastCommitAt: 0, lastEventAt: 0, queuedBytes: 0 };
      const view: DaemonView = {
        ezone: opts.ezone,
        get active() {
          return state.running !== undefined;
        },
        capture: { sample: () => state.running?.capture.sample() ?? idle },
        get appliers() {
          return state.running?.appliers ?? new Map();
        },
      };
      const server =
        opts.metricsPort === undefined
          ? undefined
          : await startHttp(opts.metricsPort, createMetrics(view), () =>
              evaluateHealth(view, { maxLagMs: config.health.maxLag, stuckAfterMs: config.health.stuckAfter }, state.running?.startedAt ?? Date.now()),
            );
      await Promise.race([lease.acquire(), stopped]);
      if (state.stopping) {
        server?.close();
        await leasePool.end();
        log.info('drc stopped');
        return;
      }

      const daemon = await startDaemon(config, opts.ezone, log, { fence: lease });
      state.running = daemon;
      const progress = setInterval(() => {
        log.debug({ ...daemon.capture.stats }, 'capture progress');
        for (const [origin, a] of daemon.appliers) log.debug({ origin, ...a.stats }, 'apply progress');
      }, Number(process.env.DRC_PROGRESS_MS ?? 10_000));
      progress.unref();
      log.info({ metricsPort: opts.metricsPort, term: lease.term }, 'drc running');

      let failure: Error | undefined;
      await new Promise<void>((resolve) => {
        lease.keep((err) => {
          failure = err;
          resolve();
        });
        daemon.capture.done.catch((err: Error) => {
          failure = err;
          resolve();
        });
        void stopped.then(resolve);
      });
      server?.close();
      if (failure) {
        log.error({ err: failure.message, code: (failure as { code?: string }).code }, 'drc stopping on a fatal error');
        setTimeout(() => process.exit(1), 10_000).unref();
        await daemon.close().catch(() => undefined);
        await leasePool.end().catch(() => undefined);
        throw failure;
      }
      await daemon.close();
      await lease.release();
      await leasePool.end();
      log.info('drc stopped');
    });
}
