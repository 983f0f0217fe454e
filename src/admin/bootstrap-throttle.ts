/**
 * What holds `drc bootstrap` back: TARGET's apply lag (the copy must never starve the live stream)
 * and SOURCE's load (its running threads). Collected in the background every 500 ms; the copy loop
 * only awaits `wait()` (gh-ost's throttler: collect apart, decide on one cheap flag).
 */
import type mysql from 'mysql2/promise';
import { CheckFailedError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import { targetLagMs } from './bootstrap-preflight.js';
import { sleep } from './verify-chunks.js';

export interface ThrottleLimits {
  /** Hold while TARGET's apply lag is above this (ms). */
  maxLagMs: number;
  /** Hold while SOURCE runs more threads than this (`Threads_running`); 0: never. */
  maxSourceThreads: number;
  /** Give up (CheckFailedError naming what holds the copy) after being held this long in one go (ms); 0: never. */
  maxPauseMs?: number;
}

/** Why the copy should wait now, or undefined when it may go on. Pure. */
export function holdReason(sample: { lagMs: number; sourceThreads: number; behind?: string | undefined }, limits: ThrottleLimits): string | undefined {
  if (sample.lagMs > limits.maxLagMs) return `the target's apply lag (${Math.round(sample.lagMs)} ms${sample.behind ? `, behind ezone ${sample.behind}` : ''}) is over --max-lag-ms ${limits.maxLagMs}`;
  if (limits.maxSourceThreads > 0 && sample.sourceThreads > limits.maxSourceThreads) return `the source runs ${sample.sourceThreads} threads, over --max-source-threads ${limits.maxSourceThreads}`;
  return undefined;
}

async function threadsRunning(pool: mysql.Pool): Promise<number> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Threads_running'");
  return Number(rows[0]?.Value ?? 0);
}

export class CopyThrottle {
  private sample: { lagMs: number; sourceThreads: number; behind?: string | undefined } = { lagMs: 0, sourceThreads: 0 };
  private held: string | undefined;
  private heldSince = 0;
  private loggedAt = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly pools: { source: mysql.Pool; target: mysql.Pool },
    /** The origins TARGET applies (its lag is the oldest of their newest heartbeats). */
    private readonly origins: string[],
    private readonly limits: ThrottleLimits,
    private readonly log: Logger,
  ) {
    this.loop = this.collect();
  }

  private async collect(): Promise<void> {
    while (!this.stopped) {
      const lag = await targetLagMs(this.pools.target, this.origins).catch(() => ({ lagMs: this.sample.lagMs, origin: this.sample.behind }));
      // The copy's own reading session counts among SOURCE's threads: one less.
      const sourceThreads = this.limits.maxSourceThreads > 0 ? Math.max(0, (await threadsRunning(this.pools.source).catch(() => 1)) - 1) : 0;
      this.sample = { lagMs: lag.lagMs, sourceThreads, behind: lag.origin };
      const reason = holdReason(this.sample, this.limits);
      const now = Date.now();
      if ((reason === undefined) !== (this.held === undefined)) {
        this.log.warn(reason ? { reason } : {}, reason ? `bootstrap paused: ${reason}` : 'bootstrap resumed');
        this.heldSince = now;
        this.loggedAt = now;
      } else if (reason !== undefined && now - this.loggedAt >= 10_000) {
        this.loggedAt = now;
        this.log.warn({ reason, pausedMs: now - this.heldSince }, `bootstrap still paused: ${reason}`);
      }
      this.held = reason;
      await sleep(500);
    }
  }

  /** Resolves when the copy may go on; throws CheckFailedError once held longer than maxPauseMs. */
  async wait(): Promise<void> {
    const max = this.limits.maxPauseMs ?? 0;
    while (this.held !== undefined && !this.stopped) {
      if (max > 0 && Date.now() - this.heldSince > max) {
        throw new CheckFailedError(`bootstrap paused for over ${Math.round(max / 1000)} s: ${this.held} — check that ezone's daemon and the target's (drc lag), raise --max-lag-ms / --max-pause-ms, then run bootstrap again with --resume`);
      }
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
