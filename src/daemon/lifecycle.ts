/**
 * The life of one `drc run` process, from start to exit: drc_meta is set up, /metrics and /healthz
 * answer from the first second, the process stands by until it holds the ezone's lease (ha/), runs
 * the daemon (wiring.ts), and ends on a signal (drain, exit 0; a second signal forces), on a lost
 * lease or a fatal capture error (drain with a watchdog, then the error is thrown for the CLI to
 * report). The CLI only parses arguments and calls `runDaemon` (graphile-worker's main.ts/cli.ts split).
 */
import type { Server } from 'node:http';
import type { Config } from '../config/schema.js';
import { ezoneOf } from '../config/loader.js';
import { createPool, detectFlavor } from '../db/connect.js';
import { tlsFailureHint } from '../db/tls.js';
import { DbConnectionError } from '../errors.js';
import { ensureMetaSchema } from '../db/meta-schema.js';
import { LeaderLease } from '../ha/leader.js';
import { newCaptureStats, type CaptureStats } from '../model/stats.js';
import { evaluateHealth } from '../ops/health.js';
import { startHttp } from '../ops/http.js';
import type { Logger } from '../ops/logger.js';
import { unverifiedBootstraps } from '../db/bootstrap-progress.js';
import { createMetrics, type DaemonView } from '../ops/metrics.js';
import { heapWarning, runtimeWarning } from '../ops/runtime.js';
import { startDaemon, type Daemon } from './wiring.js';

export interface RunOptions {
  config: Config;
  ezone: string;
  log: Logger;
  /** Serve /metrics and /healthz on this port (none when undefined). */
  metricsPort?: number;
  /** How often progress is logged at debug level (ms). */
  progressMs?: number;
}

/** A drain that hangs must not keep the process alive forever. */
const DRAIN_WATCHDOG_MS = 30_000;
/** After a fatal error the drain gets less time: the process is already failing. */
const FATAL_WATCHDOG_MS = 10_000;

/** What a standby reports as capture statistics: nothing has happened yet. */
const IDLE_CAPTURE: CaptureStats = newCaptureStats();

interface State {
  running?: Daemon;
  stopping: boolean;
}

/**
 * Run the daemon of one ezone until it is told to stop. Resolves after a clean stop; rejects with the
 * fatal error (lease lost, capture failed) after draining what it could.
 */
export async function runDaemon(options: RunOptions): Promise<void> {
  const { config, ezone, log } = options;
  warnAboutRuntime(config, log);
  const state: State = { stopping: false };
  const stopped = onSignals(state, log);

  // One active daemon per ezone: wait for the lease (standby), then run.
  const { lease, leasePool } = await prepareLease(config, ezone, log);
  const server = await serveObservability(config, ezone, state, options.metricsPort, leasePool);
  await Promise.race([lease.acquire(), stopped]);
  if (state.stopping) {
    server?.close();
    await leasePool.end();
    log.info('drc stopped');
    return;
  }

  // Renew from now on, not once started: a start-up longer than the lease (a loaded machine, a slow
  // import) let the lease lapse, and another daemon took it back while this one was starting.
  const lost = new Promise<Error>((resolve) => lease.keep(resolve));
  const daemon = await startDaemon(config, ezone, log, { fence: lease });
  state.running = daemon;
  const progress = setInterval(() => {
    log.debug({ ...daemon.capture.stats }, 'capture progress');
    for (const [origin, a] of daemon.appliers) log.debug({ origin, ...a.stats }, 'apply progress');
  }, options.progressMs ?? 10_000);
  progress.unref();
  log.info({ metricsPort: options.metricsPort, term: lease.term }, 'drc running');

  const failure = await untilStopOrFailure(daemon, lost, stopped);
  clearInterval(progress);
  server?.close();
  if (failure) {
    log.error({ err: failure.message, code: (failure as { code?: string }).code }, 'drc stopping on a fatal error');
    setTimeout(() => process.exit(1), FATAL_WATCHDOG_MS).unref();
    await daemon.close().catch(() => undefined);
    await leasePool.end().catch(() => undefined);
    throw failure;
  }
  await daemon.close();
  await lease.release();
  await leasePool.end();
  log.info('drc stopped');
}

function warnAboutRuntime(config: Config, log: Logger): void {
  const runtime = runtimeWarning();
  if (runtime) log.warn({ node: process.versions.node }, runtime);
  const heap = heapWarning(config);
  if (!heap) return;
  log.warn(
    heap,
    `the V8 heap limit (${heap.limitMb} MB) is below what ${Object.keys(config.ezones).length - 1} origin(s) of apply.maxBufferBytes may need (${heap.needMb} MB): set NODE_OPTIONS="${heap.nodeOptions}" (and a memory limit of at least ${heap.memoryLimitMb} MB, README "Sizing"), or lower apply.maxBufferBytes`,
  );
}

/** SIGTERM/SIGINT: the first drains (resolving the promise), a second one exits at once. */
function onSignals(state: State, log: Logger): Promise<void> {
  let signals = 0;
  return new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      log.info({ signal }, state.running ? 'draining' : 'stopping (was standing by)');
      state.stopping = true;
      setTimeout(() => process.exit(1), DRAIN_WATCHDOG_MS).unref();
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** drc_meta exists before anything else touches it; the lease lives on its own small pool. */
async function prepareLease(config: Config, ezone: string, log: Logger): Promise<{ lease: LeaderLease; leasePool: ReturnType<typeof createPool> }> {
  const ez = ezoneOf(config, ezone);
  const leasePool = createPool(ez.mysql, 2);
  const conn = await leasePool.getConnection().catch(async (err: unknown) => {
    await leasePool.end().catch(() => undefined);
    // A certificate the config does not trust will not fix itself: say which server and which file.
    const hint = tlsFailureHint(`ezone ${ezone}'s database at ${ez.mysql.host}:${ez.mysql.port}`, ez.mysql.tls, err);
    throw hint ? new DbConnectionError(`cannot connect: ${hint} (ezones.${ezone}.mysql.tls)`, { cause: err }) : err;
  });
  try {
    await ensureMetaSchema(conn);
  } finally {
    conn.release();
  }
  const flavor = ez.mysql.flavor === 'auto' ? await detectFlavor(leasePool) : ez.mysql.flavor;
  return { leasePool, lease: new LeaderLease(leasePool, flavor, ezone, config.ha.lease, log.child({ component: 'ha' })) };
}

/** /metrics and /healthz answer from the start: a standby reports itself healthy (role standby). */
async function serveObservability(config: Config, ezone: string, state: State, port: number | undefined, metaPool: ReturnType<typeof createPool>): Promise<Server | undefined> {
  if (port === undefined) return undefined;
  const view: DaemonView = {
    ezone,
    get active() {
      return state.running !== undefined;
    },
    capture: { sample: () => state.running?.capture.sample() ?? IDLE_CAPTURE },
    get appliers() {
      return state.running?.appliers ?? new Map();
    },
    routing: () => state.running?.routingStatus() ?? { version: 0, banned: 0 },
    // Where a `drc bootstrap` into this ezone stands (drc_meta.bootstrap), read at scrape time.
    bootstraps: () => unverifiedBootstraps(metaPool),
  };
  const limits = { maxLagMs: config.health.maxLag, stuckAfterMs: config.health.stuckAfter };
  return startHttp(port, createMetrics(view), () => evaluateHealth(view, limits, state.running?.startedAt ?? Date.now()));
}

/** Resolves on a stop request (undefined) or with the error that ends the daemon. */
function untilStopOrFailure(daemon: Daemon, lost: Promise<Error>, stopped: Promise<void>): Promise<Error | undefined> {
  return new Promise<Error | undefined>((resolve) => {
    void lost.then(resolve);
    daemon.capture.done.catch((err: Error) => resolve(err));
    void stopped.then(() => resolve(undefined));
  });
}
