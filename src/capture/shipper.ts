/**
 * Ships captured parts to Kafka: each batch of whole source transactions is one Kafka transaction
 * (changes and notifications appear together or not at all); a huge source transaction keeps its
 * Kafka transaction open across its chunks. Applied-only stretches publish a position-only message
 * at most once a second, so the resume point on Kafka keeps up in an ezone that only receives.
 */
import { ChunkEncoder } from '../model/envelope.js';
import { notificationKey } from '../model/notify.js';
import type { AtomicPublisher, OutgoingMessage, PublishBatch } from '../model/ports.js';
import type { CaptureStats } from '../model/stats.js';
import type { CapturedPart } from './assembler.js';

const POSITION_ONLY_EVERY_MS = 1000;
/**
 * Header of a Kafka transaction's last final chunk: the routing in force in binlog order after its
 * source transaction (model/routing.ts packRoutes). A restart from that chunk judges the rows it
 * reads again by it, not by the routing in force now.
 */
export const ROUTING_HEADER = 'drc-routing';
/**
 * The longest routing header sent: it rides within the producer's 4 KiB slack above a full chunk. A
 * routing cut into more runs than fit goes without (a restart then judges by the routing read at start).
 */
export const ROUTING_HEADER_MAX_BYTES = 3072;

interface Unpublished {
  txId: string;
  position: string;
  commitTime: number;
  routing?: string;
}

export class Shipper {
  private batch: PublishBatch | undefined;
  private lastChunkAt = 0;
  private finalCommitted = false;
  private unpublished: Unpublished | undefined;
  /** The routing in force at the committed resume point (CapturedPart.end.routing); undefined: none known. */
  private committed: string | undefined;
  /** The routing of the last final chunk built so far (its header), and that chunk. */
  private lastFinal: { message: OutgoingMessage; routing: string | undefined } | undefined;
  private readonly oversized: () => void;

  constructor(
    private readonly ezone: string,
    private readonly topics: { changes: string; notify: string },
    private readonly publisher: AtomicPublisher,
    /** Counters and the committed position, updated as parts ship. */
    private readonly stats: CaptureStats,
    /**
     * Resolves once the local deletes up to a binlog position have their tombstones recorded. A
     * commit waits for it, so whatever Kafka holds is covered (a restart resumes coverage at the
     * resume point read from Kafka: a tombstone of a shipped delete is never lost).
     */
    private readonly covered: (position: string) => Promise<void> = async () => undefined,
    /** Called when a routing header was left out for its size. */
    onOversizedRouting: () => void = () => undefined,
  ) {
    this.oversized = onOversizedRouting;
  }

  /** The routing in force at the committed resume point (stats.committedPosition), as text; undefined when not known. */
  get committedRouting(): string | undefined {
    return this.committed;
  }

  /** The routing in force where capture started (its resume point, before anything shipped). */
  startedWith(routing: string | undefined): void {
    this.committed = routing;
  }

  /**
   * A Kafka commit of this shipper put a transaction's last message on `changes`: the topic holds a
   * resume point (a commit of notifications only, or of a position-only message not yet due, does not).
   */
  get resumePointCommitted(): boolean {
    return this.finalCommitted;
  }

  /** A Kafka transaction is open (a source transaction is streaming across ship calls). */
  get open(): boolean {
    return this.batch !== undefined;
  }

  /** A position-only message is due (nothing else to ship, and the resume point lags behind). */
  get positionDue(): boolean {
    return this.unpublished !== undefined && Date.now() - this.lastChunkAt >= POSITION_ONLY_EVERY_MS;
  }

  /** Send the parts; commit the Kafka transaction unless a source transaction is still streaming. */
  async ship(parts: CapturedPart[]): Promise<void> {
    const lastEnd = [...parts].reverse().find((p) => p.end)?.end;
    this.lastFinal = undefined;
    const messages = this.messagesOf(parts);
    const closes = parts.length === 0 || parts[parts.length - 1]?.end !== undefined;
    let resumeAt = lastEnd?.position;
    let routingAt = lastEnd?.routing;
    if (closes && this.positionDue && this.unpublished) {
      const message = { topic: this.topics.changes, key: this.ezone, value: this.positionOnly(this.unpublished) };
      messages.push(message);
      this.lastFinal = { message, routing: this.unpublished.routing };
      resumeAt = this.unpublished.position;
      routingAt = this.unpublished.routing;
      this.unpublished = undefined;
      this.lastChunkAt = Date.now();
    }
    if (messages.length === 0) return;
    this.markRouting();

    this.batch ??= await this.publisher.begin();
    await this.batch.send(messages);
    this.stats.messages += messages.length;
    if (!closes) return; // a transaction is still streaming: keep the Kafka transaction open
    if (resumeAt) await this.covered(resumeAt);
    await this.batch.commit();
    this.batch = undefined;
    if (this.lastFinal) this.finalCommitted = true;
    if (resumeAt) {
      this.stats.committedPosition = resumeAt;
      this.committed = routingAt;
    }
    this.stats.lastCommitAt = Date.now();
  }

  /**
   * Abandon the open Kafka transaction, if any (never throws). What it held is read again from the
   * binlog: a position-only catch-up pending from it would skip those transactions, so it goes too.
   */
  async abort(): Promise<void> {
    const batch = this.batch;
    this.batch = undefined;
    this.unpublished = undefined;
    await batch?.abort().catch(() => undefined);
  }

  private messagesOf(parts: CapturedPart[]): OutgoingMessage[] {
    const messages: OutgoingMessage[] = [];
    for (const p of parts) {
      for (const c of p.chunks) messages.push({ topic: this.topics.changes, key: this.ezone, value: c });
      if (p.end && p.chunks.length > 0) this.lastFinal = { message: messages[messages.length - 1]!, routing: p.end.routing };
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
    return messages;
  }

  /**
   * The last final chunk of the Kafka transaction carries the routing in force after it (ROUTING_HEADER):
   * a restart resumes at the last committed final chunk, whichever it is.
   */
  private markRouting(): void {
    const last = this.lastFinal;
    if (!last || last.routing === undefined) return;
    if (Buffer.byteLength(last.routing, 'utf8') > ROUTING_HEADER_MAX_BYTES) {
      this.oversized();
      return;
    }
    last.message.headers = { ...last.message.headers, [ROUTING_HEADER]: last.routing };
  }

  /** A message with no changes that only moves the resume point forward. */
  private positionOnly(p: Unpublished): Buffer {
    const [message] = new ChunkEncoder({ origin: this.ezone, id: p.txId, position: p.position, commitTime: p.commitTime }, Number.MAX_SAFE_INTEGER).finish(p);
    return message as Buffer;
  }
}
