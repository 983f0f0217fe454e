/**
 * Apply for one origin: `<prefix>.<origin>.changes` → this ezone's database.
 *
 * - Exactly-once in effect: the next Kafka offset is written to drc_meta.apply_position in the same
 *   database transaction as the rows; on start (and after any failure) the stream restarts there.
 * - Group commit: consecutive small source transactions become one target transaction.
 * - Parallel: up to `apply.workers` groups execute at once when their write sets (primary and unique
 *   keys) do not overlap; they commit in source order, so the applied position is always a prefix.
 * - A huge source transaction (several chunks) streams into one target transaction on its own.
 * - A message that cannot be decoded goes to the dead-letter topic with the reason; the stream goes on.
 * - A change that does not fit the schema here pauses this origin (retrying) until it does.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import type { DeferredStatement } from '../db/sql.js';
import { DrcError, SchemaMismatchError } from '../errors.js';
import type { RowChange } from '../model/change.js';
import type { TxChunk } from '../model/envelope.js';
import type { Ownership } from '../model/ownership.js';
import type { MessageStream, StoredMessage } from '../model/ports.js';
import type { ApplierStats } from '../model/stats.js';
import type { Logger } from '../ops/logger.js';
import { backoffMs } from '../pipeline/backoff.js';
import { BoundedQueue } from '../pipeline/bounded-queue.js';
import * as sql from './planner.js';
import { Reassembler, type Unit } from './reassembler.js';
import { TableCache } from './table-cache.js';
import { TargetTransaction, type IncomingChange, type LocalProgress } from './target-transaction.js';
import { overlaps, writeSetOf } from './write-set.js';

export interface ApplierDeps {
  /** This ezone. */
  ezone: string;
  origin: string;
  config: Config;
  log: Logger;
  /** Pool on this ezone's database, at least `apply.workers + 1` connections. */
  pool: mysql.Pool;
  flavor: sql.Flavor;
  stream: MessageStream;
  progress: LocalProgress;
  ownership: Ownership;
  /** First marker slot of this origin's workers (slots never shared between streams). */
  slotBase: number;
  /** Send an undecodable message to the dead-letter topic. */
  deadLetter(m: StoredMessage, reason: string): Promise<void>;
  /** Publish committed conflict records (after commit; at least once). */
  publishConflicts(records: sql.ConflictRecord[]): Promise<void>;
  /**
   * The leader check, sent with each target transaction's first round trip; it throws when this
   * daemon was replaced (whose successor kills this daemon's sessions, so a later commit fails too).
   */
  fence?: { statement(): DeferredStatement };
}


interface Group {
  txs: { chunk: TxChunk; offset: string }[];
  nextOffset: string;
  rows: number;
  committed?: Promise<void>;
  writeSet?: Set<string>;
  /** Worker slot (marker row) while in flight. */
  slot?: number;
  /** The applier generation it was dispatched in; a recovery makes it stale. */
  generation?: number;
  done: boolean;
}

/**
 * A deadlock InnoDB resolved, a row that appeared concurrently, capture not there yet: run the group
 * again where it stands. Not a lock wait timeout: the holder may be a later group (of another origin's
 * stream) waiting for a commit turn that depends on this group — only abandoning this stream's
 * uncommitted groups (a recovery) breaks such a cycle.
 */
function retryableInPlace(err: unknown): boolean {
  const e = err as { errno?: number; code?: string };
  return e.errno === 1213 || e.code === 'DRC_APPLY_RETRY' || e.code === 'DRC_CAPTURE_BEHIND';
}
const IN_PLACE_ATTEMPTS = 5;

const next = (offset: string) => (BigInt(offset) + 1n).toString();

export class Applier {
  readonly stats: ApplierStats = {
    transactions: 0,
    groups: 0,
    rowChanges: 0,
    conflicts: 0,
    deadLetters: 0,
    retries: 0,
    nextOffset: undefined,
    lastOriginCommitTime: 0,
    lastAppliedAt: 0,
    paused: undefined,
    conflictsByReason: {},
    lastHeartbeat: undefined,
    queuedBytes: 0,
    inflight: 0,
  };
  private readonly log: Logger;
  private readonly tables: TableCache;
  private readonly queue: BoundedQueue<Unit>;
  private generation = 0;
  private stopping = false;
  private failures = 0;
  private readonly reassembler: Reassembler;
  private big: { conn: mysql.PoolConnection; target: TargetTransaction } | undefined;
  private inflight: Group[] = [];
  private lastCommit: Promise<void> = Promise.resolve();
  private drained: (() => void) | undefined;
  private recovering: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private lastStreamCommit = 0;

  constructor(private readonly deps: ApplierDeps) {
    this.log = deps.log.child({ component: 'apply', origin: deps.origin });
    this.tables = new TableCache(deps.pool);
    this.reassembler = new Reassembler(deps.origin);
    this.queue = new BoundedQueue<Unit>(deps.config.apply.maxBufferBytes, (u) => u.bytes, { onDrained: () => this.drained?.() });
  }

  async start(): Promise<void> {
    const [rows] = await this.deps.pool.query<mysql.RowDataPacket[]>(
      'SELECT next_offset FROM drc_meta.apply_position WHERE origin = ? AND kafka_partition = 0',
      [this.deps.origin],
    );
    this.stats.nextOffset = rows[0] ? String(rows[0].next_offset) : undefined;
    this.log.info({ offset: this.stats.nextOffset ?? 'earliest' }, 'apply starts');
    await this.deps.stream.start(this.stats.nextOffset, (m) => this.accept(m, this.generation), (err) => void this.recover(err));
    this.loop = this.dispatchLoop();
  }

  /** Refresh the gauges in `stats` (queue depth, groups in flight). */
  sample(): ApplierStats {
    this.stats.queuedBytes = this.queue.size;
    this.stats.inflight = this.inflight.filter((g) => !g.done).length + (this.big ? 1 : 0);
    return this.stats;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.drained?.();
    await this.deps.stream.stop();
    this.queue.wake();
    await this.loop;
    await Promise.allSettled(this.inflight.map((g) => g.committed));
    await this.closeBig();
    this.log.info({ offset: this.stats.nextOffset }, 'apply stopped');
  }

  /** Take one message from the stream (in order); resolves when there is room for more. */
  private async accept(m: StoredMessage, generation: number): Promise<void> {
    if (generation !== this.generation || this.stopping) return;
    const { units, deadLetter } = this.reassembler.next(m);
    if (deadLetter) await this.deadLetter(m, deadLetter);
    for (const u of units) this.queue.push(u);
    while (this.queue.size > this.deps.config.apply.maxBufferBytes && !this.stopping && generation === this.generation) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, 1000);
      });
    }
  }

  private async deadLetter(m: StoredMessage, reason: string): Promise<void> {
    this.stats.deadLetters++;
    this.log.error({ offset: m.offset, reason }, 'message sent to the dead-letter topic');
    await this.deps.deadLetter(m, reason);
  }

  private async dispatchLoop(): Promise<void> {
    const { groupMaxTransactions, groupMaxRows } = this.deps.config.apply;
    while (!this.stopping) {
      if (this.recovering) {
        await this.recovering;
        continue;
      }
      const generation = this.generation;
      const units = await this.queue.take(8 << 20, 100);
      if (generation !== this.generation || units.length === 0) continue;
      let group: Group | undefined;
      try {
        for (const u of units) {
          if (generation !== this.generation) break;
          if (u.kind === 'part' || u.kind === 'abandon') {
            if (group) await this.dispatch(group);
            group = undefined;
            await this.streamBig(u);
            continue;
          }
          group ??= { txs: [], nextOffset: next(u.offset), rows: 0, done: false };
          if (u.kind === 'tx') {
            group.txs.push({ chunk: u.chunk, offset: u.offset });
            group.rows += u.chunk.changes.length;
          }
          group.nextOffset = next(u.offset);
          if (group.txs.length >= groupMaxTransactions || group.rows >= groupMaxRows) {
            await this.dispatch(group);
            group = undefined;
          }
        }
        if (group && generation === this.generation) await this.dispatch(group);
      } catch (err) {
        void this.recover(err as Error);
      }
    }
  }

  /** Start a group once a worker is free and no uncommitted group shares a key with it. */
  private async dispatch(group: Group): Promise<void> {
    const generation = this.generation;
    const changes = group.txs.flatMap((t) => t.chunk.changes);
    for (const c of changes) await this.tables.get(c.schema, c.table);
    group.writeSet = writeSetOf(changes, (t) => this.tables.uniqueKeysOf(t));
    for (;;) {
      this.inflight = this.inflight.filter((g) => !g.done);
      const blocking = this.inflight.filter((g) => overlaps(g.writeSet as Set<string>, group.writeSet as Set<string>));
      if (blocking.length === 0 && this.inflight.length < this.deps.config.apply.workers) break;
      await Promise.race((blocking.length > 0 ? blocking : this.inflight).map((g) => g.committed!.catch(() => undefined)));
    }
    if (generation !== this.generation) return; // a recovery started meanwhile: the stream restarts
    group.generation = generation;
    const usedSlots = new Set(this.inflight.map((g) => g.slot));
    let slot = 0;
    while (usedSlots.has(slot)) slot++;
    group.slot = slot;
    const previous = this.lastCommit;
    group.committed = this.runGroup(group, slot, previous);
    group.committed.then(
      () => (group.done = true),
      (err: Error) => {
        group.done = true;
        void this.recover(err);
      },
    );
    this.lastCommit = group.committed;
    this.inflight.push(group);
  }

  /**
   * Execute a group, then commit it after its predecessor (source order). Deadlocks and races are
   * retried in place: the group has not committed, and its successors wait for it.
   */
  private async runGroup(group: Group, slot: number, previous: Promise<void>): Promise<void> {
    const last = group.txs[group.txs.length - 1];
    if (!last) {
      await previous; // position-only or skipped messages: nothing to write
      this.committed(group, undefined);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      const conn = await this.deps.pool.getConnection();
      const target = new TargetTransaction(conn, this.context());
      let open = false;
      try {
        target.open(this.deps.slotBase + slot, this.deps.origin, last.chunk.id, last.chunk.pos, this.deps.fence?.statement());
        open = true;
        // Once the predecessor has committed, nothing stands between this group's writes and its
        // commit: they then share one round trip.
        let previousDone = false;
        void previous.then(
          () => (previousDone = true),
          () => undefined,
        );
        await target.apply(
          group.txs.flatMap((t) => t.chunk.changes.map((change) => this.incoming(change, t.chunk))),
          { writeAtCommit: () => previousDone },
        );
        target.writeConflicts();
        await previous;
        if (group.generation !== this.generation) throw new DrcError('DRC_APPLY_STALE', 'group outlived a recovery');
        await target.commit(sql.position(this.deps.flavor, this.deps.origin, 0, group.nextOffset, last.chunk.id, last.chunk.pos));
        open = false;
        this.committed(group, target);
        return;
      } catch (err) {
        if (open) await target.rollback().catch(() => undefined);
        open = false;
        if (!retryableInPlace(err) || attempt >= IN_PLACE_ATTEMPTS || group.generation !== this.generation) throw err;
        this.stats.retries++;
        this.log.debug({ err: (err as Error).message, attempt }, 'group retried');
        await new Promise((r) => setTimeout(r, 20 * attempt));
      } finally {
        if (open) await target.rollback().catch(() => undefined);
        conn.release();
      }
    }
  }

  /** Stream a multi-chunk source transaction into one target transaction, alone. */
  private async streamBig(u: Extract<Unit, { kind: 'part' | 'abandon' }>): Promise<void> {
    await this.lastCommit; // everything before it is committed first
    if (u.kind === 'abandon') {
      this.log.warn({ offset: u.offset }, 'an incomplete multi-chunk transaction was dropped (it will not complete on this stream)');
      await this.closeBig();
      return;
    }
    const { chunk } = u;
    if (chunk.seq === 0) {
      await this.closeBig();
      const conn = await this.deps.pool.getConnection();
      this.big = { conn, target: new TargetTransaction(conn, this.context()) };
      this.big.target.open(this.deps.slotBase + this.deps.config.apply.workers, this.deps.origin, chunk.id, chunk.pos, this.deps.fence?.statement());
    }
    const big = this.big;
    if (!big) throw new DrcError('DRC_APPLY_SEQUENCE', `chunk ${chunk.seq} of ${chunk.id} without its start`);
    await big.target.apply(chunk.changes.map((change) => this.incoming(change, chunk)));
    if (!chunk.last) return;
    big.target.writeConflicts();
    const nextOffset = next(u.offset);
    await big.target.commit(sql.position(this.deps.flavor, this.deps.origin, 0, nextOffset, chunk.id, chunk.pos));
    this.big = undefined;
    big.conn.release();
    this.committed({ txs: [{ chunk, offset: u.offset }], nextOffset, rows: big.target.rows, done: true }, big.target);
  }

  private async closeBig(): Promise<void> {
    const big = this.big;
    this.big = undefined;
    if (!big) return;
    await big.conn.query('ROLLBACK').catch(() => undefined);
    big.conn.release();
  }

  private committed(group: Group, target: TargetTransaction | undefined): void {
    const conflicts = target?.conflicts ?? [];
    if (target?.heartbeat) {
      this.stats.lastHeartbeat = { sentAtMs: Date.parse(`${target.heartbeat.sentAt.replace(' ', 'T')}Z`), appliedAtMs: Date.now() };
    }
    for (const c of conflicts) this.stats.conflictsByReason[c.reason] = (this.stats.conflictsByReason[c.reason] ?? 0) + 1;
    this.failures = 0;
    this.stats.paused = undefined;
    this.stats.nextOffset = group.nextOffset;
    this.stats.transactions += group.txs.length;
    this.stats.rowChanges += group.rows;
    this.stats.groups++;
    this.stats.conflicts += conflicts.length;
    this.stats.lastAppliedAt = Date.now();
    const last = group.txs[group.txs.length - 1];
    if (last) this.stats.lastOriginCommitTime = last.chunk.ts;
    if (conflicts.length > 0) {
      this.deps.publishConflicts(conflicts).catch((err: Error) => this.log.warn({ err: err.message, count: conflicts.length }, 'publishing conflict records failed (they are in drc_meta.conflicts)'));
    }
    if (Date.now() - this.lastStreamCommit > 1000) {
      this.lastStreamCommit = Date.now();
      this.deps.stream.commit(group.nextOffset).catch(() => undefined);
    }
  }

  private incoming(change: RowChange, chunk: TxChunk): IncomingChange {
    return { change, origin: chunk.origin, txId: chunk.id };
  }

  private context() {
    return {
      ezone: this.deps.ezone,
      flavor: this.deps.flavor,
      config: this.deps.config,
      ownership: this.deps.ownership,
      tables: this.tables,
      progress: this.deps.progress,
      log: this.log,
    };
  }

  /**
   * Roll everything uncommitted back and restart the stream at the applied position, after a backoff
   * (a schema mismatch waits and retries: the stream is paused until the schema matches).
   */
  private recover(err: Error): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.recovering ??= this.doRecover(err).finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private async doRecover(err: Error): Promise<void> {
    this.generation++;
    if ((err as DrcError).code === 'DRC_NOT_LEADER') {
      // Replaced by another daemon: stop quietly, the process is on its way out.
      this.stopping = true;
      this.queue.wake();
      await this.deps.stream.stop().catch(() => undefined);
      return;
    }
    this.drained?.();
    await this.deps.stream.stop();
    await Promise.allSettled(this.inflight.map((g) => g.committed));
    this.inflight = [];
    this.lastCommit = Promise.resolve();
    await this.closeBig();
    this.queue.clear();
    this.reassembler.reset();
    this.tables.forget();
    this.failures++;
    this.stats.retries++;
    const mismatch = err instanceof SchemaMismatchError;
    if (mismatch) {
      if (this.stats.paused !== err.message) this.log.error({ reason: err.message }, 'apply paused: the schema here does not match the change; retrying until it does');
      this.stats.paused = err.message;
    } else {
      this.log.warn({ err: err.message, code: (err as DrcError).code ?? (err as { code?: string }).code, attempt: this.failures }, 'apply failed; restarting from the applied position');
    }
    for (let attempt = 0; !this.stopping; attempt++) {
      const delay = mismatch ? 2000 : backoffMs(this.failures + attempt, 100, 7);
      await new Promise((r) => setTimeout(r, delay));
      if (this.stopping) return;
      const generation = this.generation;
      try {
        await this.deps.stream.start(this.stats.nextOffset, (m) => this.accept(m, generation), (e) => void this.recover(e));
        return;
      } catch (e) {
        this.log.warn({ err: (e as Error).message, attempt }, 'apply could not restart its stream; retrying');
        await this.deps.stream.stop().catch(() => undefined);
      }
    }
  }
}
