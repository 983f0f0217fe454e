/**
 * What holds `drc bootstrap` back: TARGET's apply lag (the copy must never starve the live stream)
 * and SOURCE's load (its running threads). Collected in the background every 500 ms; the copy loop
 * only awaits `wait()` (gh-ost's throttler: collect apart, decide on one cheap flag).
 */
import type mysql from 'mysql2/promise';
import type { Logger } from '../ops/logger.js';
import { targetLagMs } from './bootstrap-preflight.js';
import { sleep } from './verify-chunks.js';

export interface ThrottleLimits {
  /** Hold while TARGET's apply lag is above this (ms). */
  maxLagMs: number;
  /** Hold while SOURCE runs more threads than this (`Threads_running`); 0: never. */
  maxSourceThreads: number;
}

/** Why the copy should wait now, or undefined when it may go on. Pure. */
export function holdReason(sample: { lagMs: number; sourceThreads: number }, limits: ThrottleLimits): string | undefined {
  if (sample.lagMs > limits.maxLagMs) return `the target's apply lag (${Math.round(sample.lagMs)} ms) is over --max-lag-ms ${limits.maxLagMs}`;
  if (limits.maxSourceThreads > 0 && sample.sourceThreads > limits.maxSourceThreads) return `the source runs ${sample.sourceThreads} threads, over --max-source-threads ${limits.maxSourceThreads}`;
  return undefined;
}

async function threadsRunning(pool: mysql.Pool): Promise<number> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Threads_running'");
  return Number(rows[0]?.Value ?? 0);
}

export class CopyThrottle {
  private sample = { lagMs: 0, sourceThreads: 0 };
  private held: string | undefined;
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
      const lagMs = await targetLagMs(this.pools.target, this.origins).catch(() => this.sample.lagMs);
      // The copy's own reading session counts among SOURCE's threads: one less.
      const sourceThreads = this.limits.maxSourceThreads > 0 ? Math.max(0, (await threadsRunning(this.pools.source).catch(() => 1)) - 1) : 0;
      this.sample = { lagMs, sourceThreads };
      const reason = holdReason(this.sample, this.limits);
      if ((reason === undefined) !== (this.held === undefined)) this.log.warn(reason ? { reason } : {}, reason ? `bootstrap paused: ${reason}` : 'bootstrap resumed');
      this.held = reason;
      await sleep(500);
    }
  }

  async wait(): Promise<void> {
    while (this.held !== undefined && !this.stopped) await sleep(100);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
