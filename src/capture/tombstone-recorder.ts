/**
 * Records the tombstones of local deletes and moves the *covered* position, in binlog order and
 * independently of the Kafka round trips of shipping (DESIGN.md section 5 rule 4: the applier waits,
 * before deciding on a missing row, until capture has passed the local binlog position it read).
 * Coverage runs ahead of Kafka: a part only needs its tombstones written to count as covered.
 */
import type mysql from 'mysql2/promise';
import { recordTombstones } from '../db/tombstones.js';
import { CaptureBehindError } from '../errors.js';
import { positionCovers } from '../model/position.js';
import type { LocalReleases, ReleasedImage } from '../model/ports.js';
import type { Logger } from '../ops/logger.js';
import type { CapturedPart } from './assembler.js';

const BATCH = 1000;
const IDLE_WAKE_MS = 200;
const RETRY_MS = 1000;

export class TombstoneRecorder {
  /** Every local delete up to here has its tombstone. */
  covered = '';
  private readonly pending: { tombstones: CapturedPart['tombstones']; releases: ReleasedImage[]; position: string | undefined }[] = [];
  private waiters: { position: string; resolve: () => void }[] = [];
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly ezone: string,
    private readonly log: Logger,
    /** Where the claims of released unique values go (apply/unique-claims.ts); recorded before coverage moves too. */
    private readonly releases?: LocalReleases,
  ) {}

  /** Start recording; everything up to `position` counts as covered already. */
  start(position: string): void {
    this.covered = position;
    this.loop = this.run();
  }

  /** Queue a part's tombstones (and its end position, once it closes a transaction). */
  add(part: CapturedPart): void {
    const releases = part.releases ?? [];
    if (part.tombstones.length === 0 && releases.length === 0 && !part.end) return;
    this.pending.push({ tombstones: part.tombstones, releases, position: part.end?.position });
    this.wake?.();
  }

  /** Forget what is queued (capture restarts from its last position and reads those parts again). */
  clear(): void {
    this.pending.length = 0;
  }

  /** Resolve once every local transaction up to `position` has its tombstones recorded. */
  waitUntilCovered(position: string, timeoutMs: number): Promise<void> {
    if (positionCovers(this.covered, position)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new CaptureBehindError(position, timeoutMs));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ position, resolve: done });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      if (this.pending.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, IDLE_WAKE_MS);
        });
        this.wake = undefined;
        continue;
      }
      const batch = this.pending.splice(0, BATCH);
      const stones = batch.flatMap((b) => b.tombstones.map((t) => ({ ...t, origin: this.ezone })));
      try {
        await recordTombstones(this.pool, 'tombstones', stones);
        const released = batch.flatMap((b) => b.releases);
        if (released.length > 0) await this.releases?.record(released);
      } catch (err) {
        this.pending.unshift(...batch); // retried; coverage waits meanwhile
        this.log.warn({ err }, 'recording tombstones failed (retrying)');
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      const last = [...batch].reverse().find((b) => b.position !== undefined)?.position;
      if (last) this.cover(last);
    }
  }

  private cover(position: string): void {
    this.covered = position;
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (positionCovers(position, w.position)) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}
