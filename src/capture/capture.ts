/**
 * Capture for one ezone: binlog → transactions → `<prefix>.<ezone>.changes` and `.notify`.
 *
 * - Resume point: the position carried by the last committed message of our own `changes` topic
 *   (Kafka is the source of truth, no side file). Applied-only stretches publish a position-only
 *   message at most once a second, so the resume point keeps up in an ezone that only receives.
 * - Each shipped batch is one Kafka transaction: changes and notifications of whole source
 *   transactions appear together or not at all; a huge source transaction streams its chunks inside
 *   one Kafka transaction. A newer capture of the same ezone fences this one.
 * - Tombstones of local deletes are written before the batch ships; `waitUntilCovered` lets the
 *   applier wait until every local delete up to a binlog position has its tombstone.
 * - On any stream or Kafka failure: abort, drop what is queued, restart from the last committed
 *   position with backoff.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { currentGtidPosition, detectFlavor } from '../db/connect.js';
import { recordTombstones } from '../db/tombstones.js';
import { DrcError } from '../errors.js';
import { ChunkEncoder, decodeChunk } from '../model/envelope.js';
import { notificationKey } from '../model/notify.js';
import { Ownership } from '../model/ownership.js';
import type { AtomicPublisher, OutgoingMessage, PublishBatch } from '../model/ports.js';
import type { CaptureStats } from '../model/stats.js';
import { positionCovers } from '../model/position.js';
import { changesTopic, notifyTopic } from '../model/topics.js';
import type { Logger } from '../ops/logger.js';
import { backoffMs } from '../pipeline/backoff.js';
import { BoundedQueue } from '../pipeline/bounded-queue.js';
import { TransactionAssembler, type CapturedPart } from './assembler.js';
import { BinlogSource } from './binlog-source.js';
import { checkCaptureServer } from './preflight.js';
import { TableFilter } from '../config/table-filter.js';

export interface CaptureDeps {
  ezone: string;
  config: Config;
  log: Logger;
  /** Pool on this ezone's database (tombstones, positions, preflight). */
  pool: mysql.Pool;
  publisher: AtomicPublisher;
  /** Value of the last committed message on this ezone's changes topic (undefined when empty). */
  lastPublished: () => Promise<Buffer | null | undefined>;
  /**
   * Throws when this daemon was replaced by another one. Checked before every restart: a zombie must
   * never reclaim the Kafka producer (that would fence the daemon that replaced it) nor the binlog.
   */
  fence?: () => Promise<void>;
}


/** Errors after which retrying cannot help. */
const FATAL = new Set(['DRC_NO_PRIMARY_KEY', 'DRC_FENCED', 'DRC_NOT_LEADER', 'DRC_ROW_METADATA', 'DRC_MARKER_NOT_FIRST', 'DRC_CAPTURE_PREFLIGHT']);
const MAX_SEND_BYTES = 4 << 20;
const POSITION_ONLY_EVERY_MS = 1000;

export class Capture {
  readonly stats: CaptureStats = {
    transactions: 0,
    appliedTransactions: 0,
    rowChanges: 0,
    messages: 0,
    restarts: 0,
    wrongWrites: 0,
    committedPosition: '',
    coveredPosition: '',
    lastCommitAt: 0,
    lastEventAt: 0,
    queuedBytes: 0,
  };
  private readonly log: Logger;
  private readonly ownership: Ownership;
  private readonly warnedWrongWrites = new Set<string>();
  private readonly topics: { changes: string; notify: string };
  private readonly queue: BoundedQueue<CapturedPart>;
  private readonly source: BinlogSource;
  private assembler!: TransactionAssembler;
  private batch: PublishBatch | undefined;
  private generation = 0;
  private stopping = false;
  private failures = 0;
  private lastChunkAt = 0;
  private unpublished: { txId: string; position: string; commitTime: number } | undefined;
  private waiters: { position: string; resolve: () => void }[] = [];
  private loop: Promise<void> | undefined;
  private coverer: Promise<void> | undefined;
  private readonly coverage: { tombstones: CapturedPart['tombstones']; position: string | undefined }[] = [];
  private coverageWaiter: (() => void) | undefined;
  private restarting: Promise<void> | undefined;
  private fatal: ((err: Error) => void) | undefined;
  /** Settles when capture stops: resolves after stop(), rejects on a fatal error. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly deps: CaptureDeps) {
    this.log = deps.log.child({ component: 'capture' });
    this.ownership = new Ownership(deps.config.ownership);
    const prefix = deps.config.kafka.topicPrefix;
    this.topics = { changes: changesTopic(prefix, deps.ezone), notify: notifyTopic(prefix, deps.ezone) };
    this.queue = new BoundedQueue<CapturedPart>(deps.config.capture.maxBufferBytes, (p) => p.bytes, {
      onFull: () => this.source.pause(),
      onDrained: () => this.source.resume(),
    });
    const ez = deps.config.ezones[deps.ezone];
    if (!ez) throw new DrcError('DRC_USAGE', `unknown ezone ${deps.ezone}`);
    this.source = new BinlogSource({
      mysql: ez.mysql,
      serverId: ez.serverId,
      heartbeatMs: deps.config.capture.binlogHeartbeatMs,
      log: this.log,
      onEvent: (ev) => this.assembler.push(ev),
      onError: (err) => void this.restart(err),
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.fatal = reject;
    });
    this.done.catch(() => undefined); // observed by the caller; never an unhandled rejection
  }

  /** Refresh the gauges in `stats`. */
  sample(): CaptureStats {
    this.stats.queuedBytes = this.queue.size;
    this.stats.lastEventAt = this.source.lastEventAt;
    return this.stats;
  }

  /** Check the server, find the resume point, start streaming. */
  async start(): Promise<void> {
    await checkCaptureServer(this.deps.pool, this.deps.config, this.deps.ezone);
    const last = await this.deps.lastPublished();
    let position: string;
    if (last) {
      position = decodeChunk(last).pos;
      this.log.info({ position, topic: this.topics.changes }, 'capture resumes after the last transaction on Kafka');
    } else {
      position = await currentGtidPosition(this.deps.pool, await detectFlavor(this.deps.pool));
      this.log.info({ position, topic: this.topics.changes }, 'no resume point on Kafka: capture starts at the current binlog end');
    }
    this.stats.committedPosition = position;
    this.stats.coveredPosition = position;
    this.assembler = this.newAssembler(position);
    this.source.start(position);
    this.loop = this.shipLoop();
    this.coverer = this.coverLoop();
  }

  /** Ship what is queued, then stop. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.source.stop();
    this.queue.wake();
    await this.loop;
    this.coverageWaiter?.();
    await this.coverer;
    await this.batch?.abort().catch(() => undefined);
    this.batch = undefined;
    this.resolveDone();
    this.log.info({ position: this.stats.committedPosition }, 'capture stopped');
  }

  /**
   * Resolve once every local transaction up to `position` (a binlog position of this ezone's server)
   * has passed capture with its tombstones recorded.
   */
  waitUntilCovered(position: string, timeoutMs: number): Promise<void> {
    if (positionCovers(this.stats.coveredPosition, position)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new DrcError('DRC_CAPTURE_BEHIND', `capture has not reached local position ${position} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ position, resolve: done });
    });
  }

  private newAssembler(position: string): TransactionAssembler {
    return new TransactionAssembler(
      {
        ezone: this.deps.ezone,
        filter: new TableFilter(this.deps.config),
        maxMessageBytes: this.deps.config.kafka.maxMessageBytes,
        emit: (part) => {
          this.queue.push(part);
          // Coverage runs ahead of Kafka: it only needs this part's tombstones written.
          if (part.tombstones.length > 0 || part.end) this.coverage.push({ tombstones: part.tombstones, position: part.end?.position });
          this.coverageWaiter?.();
        },
        onDdl: (schema, kind) => this.log.info({ schema, ddl: kind }, 'DDL observed (not replicated); rows keep decoding with the schema they were written with'),
        ownership: this.ownership,
        onWrongWrite: (table, owner) => {
          this.stats.wrongWrites++;
          if (!this.warnedWrongWrites.has(table)) {
            this.warnedWrongWrites.add(table);
            this.log.warn({ table, owner }, 'local write to a row another ezone owns: is traffic routed to the wrong ezone?');
          }
        },
      },
      position,
    );
  }

  private async shipLoop(): Promise<void> {
    while (!this.stopping || this.queue.length > 0) {
      if (this.restarting) {
        await this.restarting;
        continue;
      }
      const generation = this.generation;
      const parts = await this.queue.take(MAX_SEND_BYTES, 200);
      if (generation !== this.generation) continue;
      try {
        if (parts.length > 0) await this.ship(parts);
        else if (this.unpublished && Date.now() - this.lastChunkAt >= POSITION_ONLY_EVERY_MS) await this.ship([]);
        this.failures = 0;
      } catch (err) {
        if (this.stopping) break;
        await this.restart(err as Error);
      }
    }
  }

  /**
   * Record local tombstones and move the covered position, in binlog order, independently of the
   * Kafka round trips of the ship loop (the applier waits on coverage before deciding on missing rows).
   */
  private async coverLoop(): Promise<void> {
    while (!this.stopping) {
      if (this.coverage.length === 0) {
        await new Promise<void>((resolve) => {
          this.coverageWaiter = resolve;
          setTimeout(resolve, 200);
        });
        this.coverageWaiter = undefined;
        continue;
      }
      const batch = this.coverage.splice(0, 1000);
      const stones = batch.flatMap((b) => b.tombstones.map((t) => ({ ...t, origin: this.deps.ezone })));
      try {
        await recordTombstones(this.deps.pool, 'tombstones', stones);
      } catch (err) {
        this.coverage.unshift(...batch); // retried; coverage waits meanwhile
        this.log.warn({ err: (err as Error).message }, 'recording tombstones failed (retrying)');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      const last = [...batch].reverse().find((b) => b.position !== undefined)?.position;
      if (last) this.cover(last);
    }
  }

  private async ship(parts: CapturedPart[]): Promise<void> {
    const lastEnd = [...parts].reverse().find((p) => p.end)?.end;

    const messages: OutgoingMessage[] = [];
    for (const p of parts) {
      for (const c of p.chunks) messages.push({ topic: this.topics.changes, key: this.deps.ezone, value: c });
      for (const n of p.notifications) messages.push({ topic: this.topics.notify, key: notificationKey(n), value: Buffer.from(JSON.stringify(n)) });
      if (p.chunks.length > 0) this.lastChunkAt = Date.now();
      if (p.end) {
        // A transaction with nothing for `changes` (applied by DRC, or no replicated rows) leaves the
        // resume point on Kafka behind; a position-only message catches it up now and then.
        this.unpublished = p.chunks.length > 0 ? undefined : { txId: p.txId, ...p.end };
        this.stats.transactions++;
        if (p.applied) this.stats.appliedTransactions++;
      }
      this.stats.rowChanges += p.rows;
    }
    const closes = parts.length === 0 || parts[parts.length - 1]?.end !== undefined;
    if (closes && this.unpublished && Date.now() - this.lastChunkAt >= POSITION_ONLY_EVERY_MS) {
      messages.push({ topic: this.topics.changes, key: this.deps.ezone, value: this.positionOnly(this.unpublished) });
      this.unpublished = undefined;
      this.lastChunkAt = Date.now();
    }
    if (messages.length === 0) return;

    this.batch ??= await this.deps.publisher.begin();
    await this.batch.send(messages);
    this.stats.messages += messages.length;
    if (!closes) return; // a transaction is still streaming: keep the Kafka transaction open
    await this.batch.commit();
    this.batch = undefined;
    if (lastEnd) this.stats.committedPosition = lastEnd.position;
    this.stats.lastCommitAt = Date.now();
  }

  /** A message with no changes that only moves the resume point forward. */
  private positionOnly(p: { txId: string; position: string; commitTime: number }): Buffer {
    return new ChunkEncoder({ origin: this.deps.ezone, id: p.txId, position: p.position, commitTime: p.commitTime }, 1024).finish(p);
  }

  private cover(position: string): void {
    this.stats.coveredPosition = position;
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (positionCovers(position, w.position)) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /**
   * Abort everything in flight and start again from the last committed position, with backoff (or
   * stop on a fatal error). Single-flight: failures reported meanwhile join the restart under way.
   */
  private restart(err: Error): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.restarting ??= this.doRestart(err).finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  private async doRestart(err: Error): Promise<void> {
    this.generation++;
    const code = (err as DrcError).code;
    const batch = this.batch;
    this.batch = undefined;
    await this.source.stop();
    this.queue.clear();
    this.coverage.length = 0;
    await batch?.abort().catch(() => undefined);
    if (code && FATAL.has(code)) {
      this.stopping = true;
      this.log.error({ code, err: err.message }, 'capture stopped: fatal error');
      this.queue.wake();
      this.fatal?.(err);
      return;
    }
    for (let reason = err; ; ) {
      this.failures++;
      this.stats.restarts++;
      const delay = backoffMs(this.failures, 250, 6);
      this.log.warn(
        { err: reason.message, code: (reason as DrcError).code, attempt: this.failures, retryInMs: Math.round(delay), position: this.stats.committedPosition },
        'capture stream failed; restarting from the last committed position',
      );
      await new Promise((r) => setTimeout(r, delay));
      if (this.stopping) return;
      try {
        await this.deps.fence?.();
        // A producer that failed a send cannot be trusted: claim the identity again.
        await this.deps.publisher.reset();
        break;
      } catch (e) {
        if (FATAL.has((e as DrcError).code)) return this.doRestart(e as Error);
        reason = e as Error;
      }
    }
    const position = this.stats.committedPosition;
    this.assembler = this.newAssembler(position);
    this.source.start(position);
  }
}
