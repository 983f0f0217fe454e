/**
 * Records the tombstones of local deletes and moves the *covered* position, in binlog order and
 * independently of the Kafka round trips of shipping (DESIGN.md section 5 rule 4: the applier waits,
 * before deciding on a missing row, until capture has passed the local binlog position it read).
 * Coverage runs ahead of Kafka: a part only needs its tombstones written to count as covered.
 */
import type mysql from 'mysql2/promise';
import { pruneCaptureReceipts, recordCaptureReceipts, type CaptureReceipt } from '../db/capture-receipts.js';
import { keyIdentityOf, readKeyIdentities, tableKey, type KeyIdentity } from '../db/key-identity.js';
import { recordTombstones, type Tombstone } from '../db/tombstones.js';
import { recordLocalTruncates } from '../db/truncates.js';
import { CaptureBehindError } from '../errors.js';
import { positionCovers } from '../model/position.js';
import type { LocalReleases, ReleasedImage } from '../model/ports.js';
import type { Logger } from '../ops/logger.js';
import type { CapturedPart } from './assembler.js';

const BATCH = 1000;
const IDLE_WAKE_MS = 200;
const RETRY_MS = 1000;
/**
 * How long a table's key description (charsets, collations, types: db/key-identity.ts) is trusted
 * before information_schema is read again: an ALTER of a key column's collation is seen this late.
 */
const IDENTITY_TTL_MS = 60_000;
/** How often receipts of transactions already on Kafka are forgotten (db/capture-receipts.ts), at most. */
const PRUNE_MS = 5_000;
/** How long clear() waits for the batch being recorded, at most. */
const CLEAR_WAIT_MS = 10_000;
/** Identity of the keys of a table information_schema does not know (dropped since the delete). */
const UNKNOWN_TABLE = keyIdentityOf(undefined);

export class TombstoneRecorder {
  /** Every local delete up to here has its tombstone. */
  covered = '';
  private readonly pending: { tombstones: CapturedPart['tombstones']; truncates?: CapturedPart['truncates']; releases: ReleasedImage[]; receipt?: CaptureReceipt; position: string | undefined }[] = [];
  /** The batch being recorded, while it is. */
  private inFlight: Promise<void> | undefined;
  private prunedAt = 0;
  /** Bumped by clear(): a failed batch read before it is not retried (the restart reads it again). */
  private generation = 0;
  private prunedUpTo = '';
  private waiters: { position: string; resolve: () => void }[] = [];
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly identities = new Map<string, { identity: KeyIdentity; readAt: number }>();

  constructor(
    private readonly pool: mysql.Pool,
    private readonly ezone: string,
    private readonly log: Logger,
    /** Where the claims of released unique values go (apply/unique-claims.ts); recorded before coverage moves too. */
    private readonly releases?: LocalReleases,
    /** The position of the last transaction on Kafka: receipts up to it are forgotten. */
    private readonly committed: () => string = () => '',
  ) {}

  /** Start recording; everything up to `position` counts as covered already. */
  start(position: string): void {
    this.covered = position;
    this.loop = this.run();
  }

  /** Queue a part's tombstones (and its end position, once it closes a transaction). */
  add(part: CapturedPart): void {
    const releases = part.releases ?? [];
    if (part.tombstones.length === 0 && releases.length === 0 && !part.truncates && !part.receipt && !part.end) return;
    this.pending.push({ tombstones: part.tombstones, ...(part.truncates ? { truncates: part.truncates } : {}), ...(part.receipt ? { receipt: part.receipt } : {}), releases, position: part.end?.position });
    this.wake?.();
  }

  /**
   * Forget what is queued (capture restarts from its last position and reads those parts again), and
   * let the batch being recorded finish: what the restart reads back (receipts) is then complete.
   */
  async clear(): Promise<void> {
    this.pending.length = 0;
    this.generation++;
    // Bounded: a database that hangs must not hold the restart (it then retries as it would anyway).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.inFlight, new Promise<void>((r) => (timer = setTimeout(r, CLEAR_WAIT_MS)))]);
    clearTimeout(timer);
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
      await this.prune();
      if (this.pending.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, IDLE_WAKE_MS);
        });
        this.wake = undefined;
        continue;
      }
      const batch = this.pending.splice(0, BATCH);
      const generation = this.generation;
      const recording = this.record(batch);
      this.inFlight = recording.then(
        () => undefined,
        () => undefined,
      );
      try {
        await recording;
      } catch (err) {
        if (generation === this.generation) this.pending.unshift(...batch); // retried; coverage waits meanwhile
        this.log.warn({ err }, 'recording tombstones failed (retrying)');
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      const last = [...batch].reverse().find((b) => b.position !== undefined)?.position;
      if (last) this.cover(last);
    }
  }

  /**
   * Receipt times first (every delete version below derives from one: recorded before anything here
   * can decide with it), then tombstones, truncates, released claims.
   */
  private async record(batch: typeof this.pending): Promise<void> {
    await recordCaptureReceipts(this.pool, batch.flatMap((b) => (b.receipt ? [b.receipt] : [])));
    await recordTombstones(this.pool, 'tombstones', await this.stonesOf(batch));
    await recordLocalTruncates(this.pool, this.ezone, batch.flatMap((b) => b.truncates ?? []));
    const released = batch.flatMap((b) => b.releases);
    if (released.length > 0) await this.releases?.record(released);
  }

  /** Forget the receipts of transactions on Kafka, now and then (failures only delay it). */
  private async prune(): Promise<void> {
    const committed = this.committed();
    if (committed === this.prunedUpTo || Date.now() - this.prunedAt < PRUNE_MS) return;
    this.prunedAt = Date.now();
    try {
      await pruneCaptureReceipts(this.pool, committed);
      this.prunedUpTo = committed;
    } catch (err) {
      this.log.warn({ err }, 'forgetting capture receipts failed (retried later)');
    }
  }

  /** The batch's deletes as tombstones, with their tables' key identities (read when unknown or stale). */
  private async stonesOf(batch: typeof this.pending): Promise<Tombstone[]> {
    const deletes = batch.flatMap((b) => b.tombstones);
    const now = Date.now();
    const stale = new Map<string, { schema: string; table: string }>();
    for (const d of deletes) {
      const k = tableKey(d);
      const known = this.identities.get(k);
      if (!known || now - known.readAt > IDENTITY_TTL_MS) stale.set(k, { schema: d.schema, table: d.table });
    }
    if (stale.size > 0) {
      const read = await readKeyIdentities(this.pool, [...stale.values()]);
      for (const k of stale.keys()) this.identities.set(k, { identity: read.get(k) ?? UNKNOWN_TABLE, readAt: now });
    }
    return deletes.map((d) => ({ ...d, origin: this.ezone, identity: this.identities.get(tableKey(d))?.identity ?? UNKNOWN_TABLE }));
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
