/**
 * Apply for one origin: `<prefix>.<origin>.changes` → this ezone's database. Thin wiring of:
 * - intake.ts: stream → reassembler → bounded queue (back-pressure; dead letters);
 * - grouping.ts: group commit of consecutive small source transactions;
 * - group-scheduler.ts: up to `apply.workers` groups at once when their write sets do not overlap,
 *   committed in source order, so the applied position is always a prefix;
 * - group-executor.ts / big-transaction.ts: one target transaction per group, or per huge source
 *   transaction streamed chunk by chunk;
 * - checkpoint-store.ts: the next Kafka offset, written in the same database transaction as the rows
 *   (exactly-once in effect); on start and after any failure the stream restarts there;
 * - the supervisor (pipeline/supervisor.ts): on failure, abandon everything uncommitted and restart
 *   with backoff; a failure that persists pauses the stream loudly. A change that does not fit the
 *   schema here pauses this origin at once (`stats.paused`), retrying until it does;
 * - quarantine.ts: under `apply.onError: quarantine`, a source transaction the target rejects for a
 *   deterministic reason is set aside (dead-letter topic + drc_meta.quarantine) and the stream goes on.
 */
import type { Config } from '../config/schema.js';
import type { DeferredStatement, Flavor } from '../db/sql.js';
import { ErrorCode, type DrcError } from '../errors.js';
import type { Ownership } from '../model/ownership.js';
import type { LocalProgress, MessageStream, StoredMessage } from '../model/ports.js';
import type { ApplierStats, StreamState } from '../model/stats.js';
import type { Logger } from '../ops/logger.js';
import { Supervisor } from '../pipeline/supervisor.js';
import { BigTransaction } from './big-transaction.js';
import { CheckpointStore } from './checkpoint-store.js';
import { newApplierStats, recordCommit } from './commit-stats.js';
import type { ApplyPool } from './connection.js';
import { GroupExecutor } from './group-executor.js';
import { GroupScheduler } from './group-scheduler.js';
import { stepsOf, type Group } from './grouping.js';
import { Intake } from './intake.js';
import { LockYield } from './lock-yield.js';
import { Quarantine } from './quarantine.js';
import type { ConflictRecord } from './sql/meta.js';
import { TableCache } from './table-cache.js';
import type { TargetTransaction } from './target-transaction.js';
import type { TargetContext } from './types.js';
import { writeSetOf } from './write-set.js';

/** The config an applier reads: `apply`, and the version columns (`replicate`, `tables`). */
export type ApplierConfig = Pick<Config, 'apply' | 'replicate' | 'tables' | 'supervision'>;

export interface ApplierDeps {
  /** This ezone. */
  ezone: string;
  origin: string;
  config: ApplierConfig;
  log: Logger;
  /** Pool on this ezone's database, at least `apply.workers + 1` connections. */
  pool: ApplyPool;
  flavor: Flavor;
  stream: MessageStream;
  progress: LocalProgress;
  ownership: Ownership;
  /** First marker slot of this origin's workers (slots never shared between streams). */
  slotBase: number;
  /** Send an undecodable (or quarantined) message to the dead-letter topic. */
  deadLetter(m: StoredMessage, reason: string): Promise<void>;
  /** The changes topic `stream` reads (recorded with quarantined transactions). */
  topic?: string;
  /** Publish committed conflict records (after commit; at least once). */
  publishConflicts(records: ConflictRecord[]): Promise<void>;
  /**
   * The leader check, sent with each target transaction's first round trip; it throws when this
   * daemon was replaced (whose successor kills this daemon's sessions, so a later commit fails too).
   */
  fence?: { statement(): DeferredStatement };
  /** One per ezone, shared by its appliers: a lock cycle can run through several origins' streams (lock-yield.ts). */
  yields?: LockYield;
}

/** Bytes of units taken from the queue per dispatch round, and how long a round waits for some. */
const TAKE_BYTES = 8 << 20;
const TAKE_WAIT_MS = 100;
/** How often the stream's consumer position is recorded (backlog monitoring only). */
const STREAM_COMMIT_EVERY_MS = 1000;

/** Why the stream is paused, from the supervisor's state: a schema mismatch pauses at once. */
export function pausedReason(state: StreamState): string | undefined {
  if (state.status === 'running' || !state.lastError) return undefined;
  if (state.status === 'paused' || state.lastError.code === ErrorCode.schemaMismatch) return state.lastError.message;
  return undefined;
}

export class Applier {
  readonly stats: ApplierStats = newApplierStats();
  private readonly log: Logger;
  private readonly tables: TableCache;
  private readonly intake: Intake;
  private readonly scheduler: GroupScheduler<Group>;
  private readonly big: BigTransaction;
  private readonly supervisor: Supervisor;
  private readonly checkpoint: CheckpointStore;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lastStreamCommit = 0;
  private announcedPause: string | undefined;
  private readonly yields: LockYield;

  /** Groups parked now, waiting for their commit turn with their row locks, in every stream sharing this one's LockYield (for tests). */
  get parkedGroups(): number {
    return this.yields.parkedCount;
  }

  /** Tables whose rows arrived after a forced switchover took them from this origin: warned once each. */
  private readonly warnedForcedLate = new Set<string>();

  constructor(private readonly deps: ApplierDeps) {
    const { origin, pool, config } = deps;
    this.log = deps.log.child({ component: 'apply', origin });
    this.tables = new TableCache(pool);
    const checkpoint = (this.checkpoint = new CheckpointStore(pool, deps.flavor, origin, deps.topic ?? null));
    const context: TargetContext = { ezone: deps.ezone, flavor: deps.flavor, config, ownership: deps.ownership, tables: this.tables, coverage: { wait: deps.progress }, log: this.log };
    const committed = (group: Group, target: TargetTransaction | undefined) => this.committed(group, target);
    const shared = { pool, context, checkpoint, origin, log: this.log, ...(deps.fence ? { fence: deps.fence } : {}) };
    this.intake = new Intake({ origin, stream: deps.stream, maxBufferBytes: config.apply.maxBufferBytes, log: this.log, deadLetter: (m, reason) => this.deadLetter(m, reason) });
    const quarantine =
      config.apply.onError === 'quarantine'
        ? new Quarantine({ pool, checkpoint, origin, topic: deps.topic ?? `changes of ${origin}`, log: this.log, deadLetter: (m, reason) => deps.deadLetter(m, reason), ...(deps.fence ? { fence: deps.fence } : {}) })
        : undefined;
    const executor = new GroupExecutor({
      ...shared,
      slotBase: deps.slotBase,
      committed,
      retried: () => void this.stats.retries++,
      yields: (this.yields = deps.yields ?? new LockYield()),
      yielded: () => void this.stats.lockYields++,
      ...(quarantine ? { quarantine, quarantined: () => void this.stats.quarantined++ } : {}),
    });
    this.scheduler = new GroupScheduler<Group>(
      config.apply.workers,
      (group, slot, previous, generation) => executor.run(group, slot, previous, () => this.scheduler.isCurrent(generation)),
      (err) => this.fail(err),
    );
    this.big = new BigTransaction({ ...shared, slot: deps.slotBase + config.apply.workers, lastCommit: () => this.scheduler.lastCommit, committed });
    const s = config.supervision;
    this.supervisor = new Supervisor({
      name: `apply from ${origin}`,
      log: this.log,
      initialDelayMs: s.initialDelay,
      maxDelayMs: s.maxDelay,
      giveUpAfterMs: s.giveUpAfter,
      pausedRetryMs: s.pausedRetry,
      context: () => ({ origin, offset: this.stats.nextOffset }),
      teardown: (err) => this.teardown(err),
      restart: () => this.restart(),
      onFatal: () => this.halt(),
    });
    const supervisor = this.supervisor;
    this.stats.stream = supervisor.state;
    Object.defineProperty(this.stats, 'paused', { enumerable: true, get: () => pausedReason(supervisor.state) });
  }

  /** The stream's state under its supervisor (a live object: read it, do not keep copies). */
  get state(): StreamState {
    return this.supervisor.state;
  }

  async start(): Promise<void> {
    const { offset, stale } = await this.checkpoint.readWithTopic();
    this.stats.nextOffset = offset;
    if (stale) this.log.warn({ recordedTopic: stale, topic: this.deps.topic }, 'the applied position here was recorded for another topic (topic prefix changed, or topic recreated): this stream starts at its earliest offset');
    this.log.info({ offset: this.stats.nextOffset ?? 'earliest' }, 'apply starts');
    await this.intake.start(this.stats.nextOffset, (err) => this.fail(err));
    this.loop = this.dispatchLoop();
  }

  /** Refresh the gauges in `stats` (queue depth, groups in flight). */
  sample(): ApplierStats {
    this.stats.queuedBytes = this.intake.size;
    this.stats.inflight = this.scheduler.size + (this.big.active ? 1 : 0);
    return this.stats;
  }

  /** Drain: what is in flight commits, nothing new starts. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.supervisor.stop();
    this.intake.close();
    await this.intake.stopStream();
    this.intake.wake();
    await this.loop;
    await this.scheduler.settle();
    await this.big.close();
    this.log.info({ offset: this.stats.nextOffset }, 'apply stopped');
  }

  private async deadLetter(m: StoredMessage, reason: string): Promise<void> {
    this.stats.deadLetters++;
    await this.deps.deadLetter(m, reason);
  }

  private async dispatchLoop(): Promise<void> {
    while (!this.stopping) {
      const recovering = this.supervisor.recovering;
      if (recovering) {
        await recovering;
        continue;
      }
      const generation = this.scheduler.generation;
      const units = await this.intake.take(TAKE_BYTES, TAKE_WAIT_MS);
      if (!this.scheduler.isCurrent(generation) || units.length === 0) continue;
      try {
        for (const step of stepsOf(units, this.deps.config.apply)) {
          if (!this.scheduler.isCurrent(generation)) break;
          if (step.kind === 'big') await this.big.take(step.unit, () => this.scheduler.isCurrent(generation));
          else await this.dispatch(step.group, generation);
        }
      } catch (err) {
        this.fail(err);
      }
    }
  }

  /** Hand a group to the scheduler with its write set (table metadata read first: no I/O in write sets). */
  private async dispatch(group: Group, generation: number): Promise<void> {
    const changes = group.txs.flatMap((t) => t.chunk.changes);
    for (const c of changes) await this.tables.get(c.schema, c.table);
    // A truncate touches every key of its table: nothing runs beside it (apply/truncate.ts).
    const barrier = changes.some((c) => c.op === 'truncate');
    if (barrier) await this.scheduler.settle();
    await this.scheduler.dispatch(group, writeSetOf(changes, (t) => this.tables.uniqueKeysOf(t), (t) => this.tables.foreignKeysOf(t), (t) => this.tables.uniquePrefixesOf(t)), generation);
    if (barrier) await this.scheduler.settle();
  }

  private committed(group: Group, target: TargetTransaction | undefined): void {
    recordCommit(this.stats, group, target);
    this.supervisor.progressed();
    this.announcedPause = undefined;
    const conflicts = target?.conflicts ?? [];
    if (target) this.warnForcedLate(target.log.tablesOf('forced-late'));
    if (target && target.log.omitted > 0) {
      this.log.warn({ published: conflicts.length, omitted: target.log.omitted, offset: group.txs[0]?.offset }, 'a big transaction met more conflicts than are published: the rest are in drc_meta.conflicts only (drc conflicts shows them)');
    }
    if (conflicts.length > 0) {
      this.deps.publishConflicts(conflicts).catch((err: Error) => this.log.warn({ err: err.message, count: conflicts.length }, 'publishing conflict records failed (they are in drc_meta.conflicts)'));
    }
    if (Date.now() - this.lastStreamCommit > STREAM_COMMIT_EVERY_MS) {
      this.lastStreamCommit = Date.now();
      this.intake.commit(group.nextOffset).catch(() => undefined);
    }
  }

  /** Rows of this origin arriving after a forced switchover took their shards: a warning per table (no row values; drc conflicts has them). */
  private warnForcedLate(tables: ReadonlySet<string>): void {
    for (const table of tables) {
      if (this.warnedForcedLate.has(table)) continue;
      this.warnedForcedLate.add(table);
      this.log.warn({ table }, 'rows the old owner wrote before a forced switchover arrived after it: last-writer-wins decides them against the new owner\'s writes; see drc conflicts, check with drc verify');
    }
  }

  /** Any failure of the stream, a group or the dispatch: the supervisor decides. */
  private fail(err: unknown): void {
    if (this.stopping) return;
    // Replaced by another daemon: stop quietly, the process is on its way out (the supervisor would
    // log a fatal error; the lease already reported it).
    if ((err as DrcError | undefined)?.code === ErrorCode.notLeader) return this.halt();
    void this.supervisor.fail(err);
  }

  /**
   * Roll everything uncommitted back, ready to restart the stream at the applied position: stop the
   * stream, abandon the groups in flight (they must not commit), drop what is queued, the open big
   * transaction and the table metadata (the schema may have changed).
   */
  private async teardown(err: DrcError): Promise<void> {
    const abandoned = this.scheduler.abandon(); // from here on, no group in flight commits
    await this.intake.stopStream().catch(() => undefined);
    await abandoned;
    await this.big.close();
    this.intake.reset();
    this.tables.forget();
    this.stats.retries++;
    if (err.code === ErrorCode.schemaMismatch && this.announcedPause !== err.message) {
      this.announcedPause = err.message;
      this.log.error({ reason: err.message, ...err.context }, 'apply paused: the schema here does not match the change; retrying until it does');
    }
  }

  /**
   * Restart the stream at the applied position as the database has it: a COMMIT whose answer was lost
   * (the connection dropped) committed all the same, and its group must not be applied twice. The
   * position only moves forward, so the later of the stored and the known one is where to go on.
   */
  private async restart(): Promise<void> {
    const stored = await this.checkpoint.read();
    const known = this.stats.nextOffset;
    if (stored !== undefined && (known === undefined || BigInt(stored) > BigInt(known))) this.stats.nextOffset = stored;
    await this.intake.start(this.stats.nextOffset, (err) => this.fail(err));
  }

  /** Stop for good without draining (replaced, or a fatal error): nothing in flight commits. */
  private halt(): void {
    this.stopping = true;
    this.supervisor.stop();
    void this.scheduler.abandon();
    this.intake.close();
    void this.intake.stopStream().catch(() => undefined);
  }
}
