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
import { ackDrop, ackJournal, recordJournalStatements, registeredTables, writeJournalCoverage, type JournalKey } from '../db/bootstrap-journal.js';
import { COPY_ORIGIN } from '../model/copy-origin.js';
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
/** How often the tables `drc bootstrap` asks to journal are read again (db/bootstrap-journal.ts), while one is registered. */
const JOURNAL_REFRESH_MS = 500;
/** How often they are read while none is: a bootstrap waits for the acknowledgement at least 5 s. */
const JOURNAL_IDLE_REFRESH_MS = 2_000;
/** How often, at most, coverage is published while a table is journaled. */
const JOURNAL_PUBLISH_MS = 100;
/** Beyond its session's lock wait, how long clear() waits for the answer to a COMMIT already sent. */
const COMMIT_MARGIN_MS = 5_000;
/** The lock wait assumed for a session whose own could not be read (the server's default). */
const DEFAULT_LOCK_WAIT_S = 50;
/** Identity of the keys of a table information_schema does not know (dropped since the delete). */
const UNKNOWN_TABLE = keyIdentityOf(undefined);

/** The transaction of the batch being recorded (clear() ends it, or waits for its COMMIT). */
interface Recording {
  conn: mysql.PoolConnection;
  /** The session's innodb_lock_wait_timeout (ms). */
  lockWaitMs: number;
  /** Its COMMIT was sent. */
  committing: boolean;
  /** Settles once the transaction is over (committed, failed or ended). */
  done: Promise<void>;
}

/** A batch cleared (capture restarts) before its COMMIT: rolled back, the restart records it again. */
class CaptureRestartedError extends Error {
  constructor() {
    super('tombstone batch cleared before its commit (capture restarts)');
  }
}

export class TombstoneRecorder {
  /** Every local delete up to here has its tombstone. */
  covered = '';
  private readonly pending: { tombstones: CapturedPart['tombstones']; truncates?: CapturedPart['truncates']; releases: ReleasedImage[]; receipt?: CaptureReceipt; journal?: Omit<JournalKey, 'identity'>[]; unfiltered?: true; position: string | undefined }[] = [];
  /** The tables journaled for `drc bootstrap` (by tableKey), and when that was read. */
  private journaled = new Set<string>();
  private journalReadAt = 0;
  /** Whether the set was read since start: until then parts keep every change, filtered when recorded, and coverage waits. */
  private journalLoaded: boolean;
  /** How many tables were registered when last read (acknowledged or not): the set is read often only then. */
  private registered = 0;
  /** The end position of the last part queued: every part after it is filtered with the journal set read since. */
  private lastAdded = '';
  private publishedCovered = '';
  private publishedAt = 0;
  /** The transaction of the batch being recorded, while it is open. */
  private recording: Recording | undefined;
  /** The lock wait (ms) of each pooled session by its server thread id, read once. */
  private readonly lockWaits = new Map<number, number>();
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
    /** Journal the tables `drc bootstrap` registers (db/bootstrap-journal.ts): capture does, unit tests of tombstones need not. */
    private readonly journal = false,
  ) {
    this.journalLoaded = !journal;
  }

  /** Start recording; everything up to `position` counts as covered already. */
  start(position: string): void {
    this.covered = position;
    this.lastAdded = position;
    this.loop = this.run();
  }

  /**
   * Read the tables `drc bootstrap` asks to journal (db/bootstrap-journal.ts) before the first part
   * is queued: after a restart, every change re-read of a table acknowledged before is journaled again.
   */
  async loadJournal(): Promise<void> {
    if (!this.journal) return;
    try {
      const entries = await registeredTables(this.pool);
      this.journaled = new Set(entries.filter((e) => e.ackedFrom !== undefined && !e.forget).map(tableKey));
      this.registered = entries.length;
      this.journalLoaded = true;
    } catch (err) {
      // Capture starts anyway: parts keep every change until the set is read (run() retries), and coverage waits for it.
      this.log.warn({ err }, 'reading the bootstrap journal failed: retried, coverage waits meanwhile');
    }
    this.journalReadAt = Date.now();
  }

  /** Queue a part's tombstones (and its end position, once it closes a transaction). */
  add(part: CapturedPart): void {
    const releases = part.releases ?? [];
    // Every change of a journaled table, local or applied, but the copy's own (db/bootstrap-journal.ts).
    // (Before the set was first read: every change, filtered when the batch is recorded.)
    const unfiltered = !this.journalLoaded;
    const journal =
      (this.journaled.size === 0 && !unfiltered) || part.origin === COPY_ORIGIN ? [] : part.notifications.filter((n) => unfiltered || this.journaled.has(tableKey(n))).map((n) => ({ schema: n.schema, table: n.table, key: n.key, origin: n.origin }));
    if (part.end) this.lastAdded = part.end.position;
    if (part.tombstones.length === 0 && releases.length === 0 && journal.length === 0 && !part.truncates && !part.receipt && !part.end) return;
    this.pending.push({ tombstones: part.tombstones, ...(part.truncates ? { truncates: part.truncates } : {}), ...(part.receipt ? { receipt: part.receipt } : {}), ...(journal.length > 0 ? { journal } : {}), ...(unfiltered ? { unfiltered: true as const } : {}), releases, position: part.end?.position });
    this.wake?.();
  }

  /**
   * Forget what is queued (capture restarts from its last position and reads those parts again), and
   * make sure the batch being recorded is over — committed, or never to commit — so that what the
   * restart reads back (receipts) stays what this ezone decided with. A batch is one transaction that
   * commits only if no clear() came first: one cleared before its COMMIT is ended at once (its
   * connection with it: the server rolls it back, the restart records those parts again). A COMMIT
   * already sent is waited for — as long as its session's innodb_lock_wait_timeout, read from the
   * server, and a margin: a COMMIT takes no row lock, so one not answered by then has lost its server
   * — then ended too, with a warning (whether it committed is then unknown: the one case where the
   * restart may time a delete anew). No tombstone is lost and nothing hangs.
   */
  async clear(): Promise<void> {
    this.pending.length = 0;
    this.generation++;
    const r = this.recording;
    if (!r) return; // no transaction open: a batch not in one yet will not open one (record checks the generation)
    if (!r.committing) {
      r.conn.destroy();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([r.done.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), r.lockWaitMs + COMMIT_MARGIN_MS)))]);
    clearTimeout(timer);
    if (answered) return;
    this.log.warn({ waitedMs: r.lockWaitMs + COMMIT_MARGIN_MS }, 'a COMMIT of tombstones got no answer: its connection is ended (the restart records those deletes again)');
    r.conn.destroy();
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
      await this.refreshJournal();
      if (!this.journalLoaded) {
        // The journal set was never read: nothing is recorded (coverage waits) until it is.
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
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
      try {
        await this.record(batch, generation);
        const released = batch.flatMap((b) => b.releases);
        if (released.length > 0) await this.releases?.record(released);
      } catch (err) {
        if (generation !== this.generation) continue; // cleared meanwhile: the restart reads those parts again
        this.pending.unshift(...batch); // retried; coverage waits meanwhile
        this.log.warn({ err }, 'recording tombstones failed (retrying)');
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      const last = [...batch].reverse().find((b) => b.position !== undefined)?.position;
      if (last) this.cover(last);
    }
  }

  /**
   * In one transaction, committed only if no clear() came meanwhile: receipt times first (every delete
   * version below derives from one: recorded before anything here can decide with it), then
   * tombstones and truncates. (Released claims follow, outside it: a claim recorded again, or late, is
   * the same claim.)
   */
  private async record(batch: typeof this.pending, generation: number): Promise<void> {
    const receipts = batch.flatMap((b) => (b.receipt ? [b.receipt] : []));
    const stones = await this.stonesOf(batch);
    const truncates = batch.flatMap((b) => b.truncates ?? []);
    const journal = recordJournalStatements(await this.journalOf(batch));
    if (receipts.length + stones.length + truncates.length + journal.length === 0) return;
    const conn = await this.pool.getConnection();
    let answered: () => void = () => undefined;
    const r: Recording = { conn, lockWaitMs: DEFAULT_LOCK_WAIT_S * 1000, committing: false, done: new Promise<void>((resolve) => (answered = resolve)) };
    const current = () => {
      if (generation !== this.generation) throw new CaptureRestartedError();
    };
    if (generation !== this.generation) {
      conn.release();
      throw new CaptureRestartedError();
    }
    try {
      this.recording = r;
      r.lockWaitMs = await this.lockWaitOf(conn);
      await conn.query('BEGIN');
      await recordCaptureReceipts(conn, receipts);
      await recordTombstones(conn, 'tombstones', stones);
      await recordLocalTruncates(conn, this.ezone, truncates);
      for (const j of journal) await conn.query(j.sql, j.params);
      current(); // and the COMMIT goes at once: a clear() from now on waits for its answer
      r.committing = true;
      await conn.query('COMMIT');
    } catch (err) {
      conn.destroy(); // an open transaction is rolled back by the server
      throw err;
    } finally {
      if (this.recording === r) this.recording = undefined;
      answered();
    }
    conn.release();
  }

  /** The session's innodb_lock_wait_timeout (ms), read once per pooled session. */
  private async lockWaitOf(conn: mysql.PoolConnection): Promise<number> {
    const thread: number | undefined = conn.threadId ?? undefined; // unknown on a fake connection
    const known = thread === undefined ? undefined : this.lockWaits.get(thread);
    if (known !== undefined) return known;
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@SESSION.innodb_lock_wait_timeout AS s');
    const seconds = Number(rows[0]?.s);
    const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_LOCK_WAIT_S * 1000;
    if (thread !== undefined) {
      if (this.lockWaits.size >= 64) this.lockWaits.clear(); // sessions come and go: a few are known at a time
      this.lockWaits.set(thread, ms);
    }
    return ms;
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

  /**
   * Read the journaled tables again (every JOURNAL_REFRESH_MS) and acknowledge the new ones: every part
   * queued from now on is filtered with the new set, so the position of the last part queued is where
   * their journal begins. Publish coverage while a table is journaled. Failures only delay it.
   */
  private async refreshJournal(): Promise<void> {
    if (!this.journal) return;
    const now = Date.now();
    try {
      if (!this.journalLoaded || now - this.journalReadAt >= (this.registered > 0 ? JOURNAL_REFRESH_MS : JOURNAL_IDLE_REFRESH_MS)) {
        this.journalReadAt = now;
        const entries = await registeredTables(this.pool);
        this.registered = entries.length;
        const live = entries.filter((e) => !e.forget);
        const fresh = live.filter((e) => e.ackedFrom === undefined);
        const dropped = entries.filter((e) => e.forget && e.droppedFrom === undefined);
        const from = this.lastAdded;
        this.journaled = new Set(live.map(tableKey));
        this.journalLoaded = true;
        if (fresh.length > 0) {
          await ackJournal(this.pool, fresh, from);
          this.log.info({ tables: fresh.map((t) => `${t.schema}.${t.table}`), from }, 'capture journals every change of these tables for drc bootstrap');
        }
        // Parts queued from now on are filtered without them: once coverage passes `from`, none of their keys is recorded again.
        if (dropped.length > 0) {
          await ackDrop(this.pool, dropped, from);
          this.log.info({ tables: dropped.map((t) => `${t.schema}.${t.table}`), from }, 'capture journals these tables no more (drc bootstrap forgets their journal)');
        }
      }
      if (this.registered > 0 && this.covered !== this.publishedCovered && now - this.publishedAt >= JOURNAL_PUBLISH_MS) {
        const covered = this.covered;
        this.publishedAt = now;
        await writeJournalCoverage(this.pool, covered);
        this.publishedCovered = covered;
      }
    } catch (err) {
      this.log.warn({ err }, 'reading or acknowledging the bootstrap journal failed (retried)');
    }
  }

  /** The batch's journaled keys, with their tables' key identities. */
  private async journalOf(batch: typeof this.pending): Promise<JournalKey[]> {
    const keys = batch.flatMap((b) => (b.unfiltered ? (b.journal ?? []).filter((k) => this.journaled.has(tableKey(k))) : (b.journal ?? [])));
    if (keys.length === 0) return [];
    await this.identitiesOf(keys);
    return keys.map((k) => ({ ...k, identity: this.identities.get(tableKey(k))?.identity ?? UNKNOWN_TABLE }));
  }

  /** The batch's deletes as tombstones, with their tables' key identities (read when unknown or stale). */
  private async stonesOf(batch: typeof this.pending): Promise<Tombstone[]> {
    const deletes = batch.flatMap((b) => b.tombstones);
    await this.identitiesOf(deletes);
    return deletes.map((d) => ({ ...d, origin: this.ezone, identity: this.identities.get(tableKey(d))?.identity ?? UNKNOWN_TABLE }));
  }

  /** Read the key identities of these tables when unknown or stale. */
  private async identitiesOf(deletes: { schema: string; table: string }[]): Promise<void> {
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
