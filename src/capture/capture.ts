/**
 * Capture for one ezone: binlog → transactions → `<prefix>.<ezone>.changes` and `.notify`.
 *
 * - Resume point: the position carried by the last committed message of our own `changes` topic
 *   (Kafka is the source of truth, no side file). Applied-only stretches publish a position-only
 *   message at most once a second, so the resume point keeps up in an ezone that only receives.
 *   Before the topic's first commit, the first start recorded in drc_meta (start-point.ts).
 * - Each shipped batch is one Kafka transaction: changes and notifications of whole source
 *   transactions appear together or not at all; a huge source transaction streams its chunks inside
 *   one Kafka transaction. A newer capture of the same ezone fences this one.
 * - A replicated table without a primary key is refused by name (refused-tables.ts): its row changes
 *   are skipped and counted, everything else ships; it replicates once it has a primary key.
 * - Tombstones of local deletes are recorded by the TombstoneRecorder; `waitUntilCovered` lets the
 *   applier wait until every local delete up to a binlog position has its tombstone. A TRUNCATE TABLE
 *   of a replicated table ships as a truncate change, and its table-wide tombstone is recorded here
 *   the same way (db/truncates.ts).
 * - Failures go to the stream's Supervisor (pipeline/supervisor.ts), which decides by error class:
 *   abort, drop what is queued and restart from the last committed position with backoff; pause
 *   loudly when failures persist; stop on a fatal error (`done` rejects, the daemon ends).
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { loadCaptureReceipts } from '../db/capture-receipts.js';
import { isBinlogPositionGone } from '../db/mysql-errors.js';
import type { DrcError } from '../errors.js';
import { Ownership } from '../model/ownership.js';
import type { RoutingBook } from '../model/routing.js';
import type { AtomicPublisher, LocalReleases, StoredMessage } from '../model/ports.js';
import { newCaptureStats, type CaptureStats, type StreamState } from '../model/stats.js';
import { changesTopic, notifyTopic } from '../model/topics.js';
import type { Logger } from '../ops/logger.js';
import { BoundedQueue } from '../pipeline/bounded-queue.js';
import { Supervisor } from '../pipeline/supervisor.js';
import { TransactionAssembler, type CapturedPart } from './assembler.js';
import { BinlogSource } from './binlog-source.js';
import { checkCaptureServer } from './preflight.js';
import { RefusedTables } from './refused-tables.js';
import { RoutingTracker } from './routing-tracker.js';
import { Shipper } from './shipper.js';
import { StartPoint } from './start-point.js';
import { TableFilter } from '../config/table-filter.js';
import { TombstoneRecorder } from './tombstone-recorder.js';

/** What capture reads of the config (a slice, frozen like all of it): never another ezone's settings. */
export type CaptureConfig = Pick<Config, 'capture' | 'kafka' | 'ownership' | 'supervision' | 'replicate' | 'tables'>;

export interface CaptureDeps {
  ezone: string;
  config: CaptureConfig;
  /** This ezone's server and the binlog reader's server id. */
  server: { mysql: Config['ezones'][string]['mysql']; serverId: number };
  log: Logger;
  /** Pool on this ezone's database (tombstones, positions, preflight). */
  pool: mysql.Pool;
  publisher: AtomicPublisher;
  /** The last committed final chunk on this ezone's changes topic, value and headers (undefined when empty). */
  lastPublished: () => Promise<Pick<StoredMessage, 'value' | 'headers'> | undefined>;
  /**
   * Throws when this daemon was replaced by another one. Checked before every restart: a zombie must
   * never reclaim the Kafka producer (that would fence the daemon that replaced it) nor the binlog.
   */
  fence?: () => Promise<void>;
  /** Records the claims of unique values local updates and deletes release (apply/unique-claims.ts); none without it. */
  releases?: LocalReleases;
  /**
   * The versioned routing (drc_meta.routing) as read at start; capture keeps it in binlog order, so
   * local writes are judged by the routing in force when they were written. It ships the routing in
   * force at each resume point with it (shipper.ts ROUTING_HEADER): a restart — of the stream or of the
   * daemon — starts from that, not from the routing in force now. Without it: the config's.
   */
  routing?: RoutingBook;
}

const MAX_SEND_BYTES = 4 << 20;

/** How long a Kafka commit waits for the tombstones of its deletes to be recorded before capture restarts. */
const COVERAGE_WAIT_MS = 30_000;

/** `fn`, run the first time only. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

export class Capture {
  readonly stats: CaptureStats = newCaptureStats();
  /** Settles when capture stops: resolves after stop(), rejects on a fatal error. */
  readonly done: Promise<void>;
  private readonly log: Logger;
  private readonly ownership: Ownership;
  private readonly warnedWrongWrites = new Set<string>();
  private readonly topics: { changes: string; notify: string };
  private readonly queue: BoundedQueue<CapturedPart>;
  private readonly source: BinlogSource;
  private readonly shipper: Shipper;
  private readonly tombstones: TombstoneRecorder;
  private readonly supervisor: Supervisor;
  /** Tables without a primary key: skipped, counted, reported (never fatal). */
  private readonly refused: RefusedTables;
  private assembler!: TransactionAssembler;
  private generation = 0;
  private stopping = false;
  /** Where this run started: the resume point on Kafka, or a recorded first start. */
  private readonly startPoint: StartPoint;
  /** When the stream last (re)started: events after it prove the binlog connection works. */
  private startedAt = 0;
  private loop: Promise<void> | undefined;
  /** deps.routing kept in binlog order, and put back at the resume point on a restart. */
  private readonly routing: RoutingTracker;
  private resolveDone!: () => void;
  private rejectDone!: (err: Error) => void;

  constructor(private readonly deps: CaptureDeps) {
    this.log = deps.log.child({ component: 'capture' });
    this.refused = new RefusedTables(this.log);
    this.routing = new RoutingTracker(deps.routing, deps.config.kafka.topicPrefix, this.log);
    this.stats.refusedTables = this.refused.tables;
    this.ownership = new Ownership(deps.config.ownership, { ...(deps.routing ? { routing: deps.routing } : {}), mode: 'local' });
    const prefix = deps.config.kafka.topicPrefix;
    this.topics = { changes: changesTopic(prefix, deps.ezone), notify: notifyTopic(prefix, deps.ezone) };
    this.queue = new BoundedQueue<CapturedPart>(deps.config.capture.maxBufferBytes, (p) => p.bytes, {
      onFull: () => this.source.pause(),
      onDrained: () => this.source.resume(),
    });
    this.shipper = new Shipper(
      deps.ezone,
      this.topics,
      deps.publisher,
      this.stats,
      (position) => this.tombstones.waitUntilCovered(position, COVERAGE_WAIT_MS),
      once(() => this.log.warn({ shards: deps.routing?.size }, 'the routing is cut into too many ranges to ship with the resume point: a restart judges re-read rows by the routing read at start')),
    );
    this.startPoint = new StartPoint(deps.pool, this.topics.changes, this.routing, this.log);
    this.tombstones = new TombstoneRecorder(deps.pool, deps.ezone, this.log, deps.releases, () => this.stats.committedPosition, true);
    this.supervisor = this.newSupervisor();
    this.source = new BinlogSource({
      mysql: deps.server.mysql,
      serverId: deps.server.serverId,
      heartbeatMs: deps.config.capture.binlogHeartbeatMs,
      log: this.log,
      onEvent: (ev) => this.assembler.push(ev),
      onError: (err) => void this.supervisor.fail(isBinlogPositionGone(err) ? this.startPoint.gone(this.stats.committedPosition, err) : err),
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined); // observed by the caller; never an unhandled rejection
  }

  /** Refresh the gauges in `stats`. */
  sample(): CaptureStats {
    this.stats.queuedBytes = this.queue.size;
    this.stats.lastEventAt = this.source.lastEventAt;
    this.stats.coveredPosition = this.tombstones.covered;
    this.stats.stream = this.supervisor.state;
    return this.stats;
  }

  /** The stream's supervision state: running, retrying, paused (failing past the give-up window) or stopped. */
  get state(): StreamState {
    return this.supervisor.state;
  }

  /** Check the server, find the resume point, start streaming. */
  async start(): Promise<void> {
    const { noPrimaryKey } = await checkCaptureServer(this.deps.pool, this.deps.config, this.deps.ezone);
    for (const table of noPrimaryKey) this.refused.known(table);
    const position = await this.startPoint.find(await this.deps.lastPublished());
    this.stats.committedPosition = position;
    this.stats.coveredPosition = position;
    // A stream restart before the first commit reads again from here: with the routing of here.
    this.shipper.startedWith(this.routing.current());
    await this.tombstones.loadJournal(); // before the first part: a restart journals what it reads again
    this.tombstones.start(position);
    await this.startStream(position);
    this.loop = this.shipLoop();
  }

  /** Ship what is queued, then stop. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.supervisor.stop();
    await this.source.stop();
    this.queue.wake();
    await this.loop;
    await this.tombstones.stop();
    await this.shipper.abort();
    this.resolveDone();
    this.log.info({ position: this.stats.committedPosition }, 'capture stopped');
  }

  /**
   * Resolve once every local transaction up to `position` (a binlog position of this ezone's server)
   * has passed capture with its tombstones recorded.
   */
  waitUntilCovered(position: string, timeoutMs: number): Promise<void> {
    return this.tombstones.waitUntilCovered(position, timeoutMs);
  }

  /** Stream from `position`, with the receipt times earlier captures recorded (db/capture-receipts.ts). */
  private async startStream(position: string): Promise<void> {
    const receipts = await loadCaptureReceipts(this.deps.pool);
    this.startedAt = Date.now();
    this.assembler = this.newAssembler(position, receipts);
    this.source.start(position);
  }

  private newSupervisor(): Supervisor {
    const s = this.deps.config.supervision;
    return new Supervisor({
      name: 'capture',
      log: this.log,
      initialDelayMs: s.initialDelay,
      maxDelayMs: s.maxDelay,
      giveUpAfterMs: s.giveUpAfter,
      pausedRetryMs: s.pausedRetry,
      context: () => ({ position: this.stats.committedPosition }),
      teardown: (err) => this.teardown(err),
      restart: () => this.restart(),
      onFatal: (err) => {
        this.stopping = true;
        this.queue.wake();
        this.rejectDone(err);
      },
    });
  }

  /** Abandon everything in flight: the stream restarts from the last position committed to Kafka. */
  private async teardown(err: DrcError): Promise<void> {
    this.generation++;
    if (!err.fatal) this.stats.restarts++;
    await this.source.stop();
    this.queue.clear();
    await this.tombstones.clear();
    await this.shipper.abort();
  }

  private async restart(): Promise<void> {
    await this.deps.fence?.();
    // A producer that failed a send cannot be trusted: claim the identity again.
    await this.deps.publisher.reset();
    this.routing.resume(this.shipper.committedRouting, this.stats.committedPosition);
    await this.startStream(this.stats.committedPosition);
  }

  private newAssembler(position: string, receipts: ReadonlyMap<string, number>): TransactionAssembler {
    return new TransactionAssembler(
      {
        ezone: this.deps.ezone,
        filter: new TableFilter(this.deps.config),
        maxMessageBytes: this.deps.config.kafka.maxMessageBytes,
        emit: (part) => {
          this.queue.push(part);
          this.tombstones.add(part);
        },
        onDdl: (schema, kind) => this.log.info({ schema, ddl: kind }, 'DDL observed (not replicated); rows keep decoding with the schema they were written with'),
        onTruncate: (table) => this.log.info({ table }, 'TRUNCATE TABLE captured: every peer deletes the rows not newer than it (apply/truncate.ts)'),
        ownership: this.ownership,
        onRoutingRow: (after) => this.routing.onRow(after),
        routingText: () => this.routing.current(),
        refused: this.refused,
        receipts,
        ...(this.deps.releases ? { releases: this.deps.releases } : {}),
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
      const recovering = this.supervisor.recovering;
      if (recovering) {
        await recovering;
        continue;
      }
      const generation = this.generation;
      const parts = await this.queue.take(MAX_SEND_BYTES, 200);
      if (generation !== this.generation) continue;
      try {
        const committedBefore = this.stats.committedPosition;
        if (parts.length > 0) await this.shipper.ship(parts);
        else if (this.shipper.positionDue) await this.shipper.ship([]);
        // Progress: a Kafka commit moved the resume point, or nothing to ship (no Kafka transaction
        // open) while the binlog stream is alive. Chunks sent into a transaction still open are not:
        // a failure at chunk k of a big transaction must not reset the give-up window every time.
        const committed = this.stats.committedPosition !== committedBefore;
        const idle = parts.length === 0 && !this.shipper.open && this.source.lastEventAt >= this.startedAt;
        if (generation === this.generation && (committed || idle)) this.supervisor.progressed();
        if (this.shipper.resumePointCommitted) await this.startPoint.committed();
      } catch (err) {
        if (this.stopping) break;
        await this.supervisor.fail(err);
      }
    }
  }
}
