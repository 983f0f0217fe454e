/**
 * The small interfaces between pipeline stages. capture/, apply/ and transport/ depend on these,
 * never on each other; daemon.ts hands the adapters in.
 */
import type { RowChange } from './change.js';
import type { Row } from './value.js';

/** One message to publish. */
export interface OutgoingMessage {
  topic: string;
  /** Partitioning key (messages with one key stay in order). */
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

/** A message read back from a topic. */
export interface StoredMessage {
  offset: string;
  key: string | null;
  value: Buffer | null;
  /** The message's headers as text (absent when it has none). */
  headers?: Record<string, string>;
}

/**
 * Publishes messages atomically: what is sent through one batch becomes visible to readers together,
 * at commit, or never. A newer publisher with the same identity fences an older one (a zombie).
 */
export interface AtomicPublisher {
  /** Open a batch. Only one batch is open at a time. */
  begin(): Promise<PublishBatch>;
  /**
   * Drop the connection and claim the identity again. Required after any failed send or commit: the
   * old producer's state (sequence numbers) cannot be trusted.
   */
  reset(): Promise<void>;
  /** Release connections. An open batch is aborted. */
  close(): Promise<void>;
}

export interface PublishBatch {
  /** Send messages as part of the batch, in order. Resolves when the broker has them (not yet visible). */
  send(messages: OutgoingMessage[]): Promise<void>;
  /** Make every message of the batch visible. Throws if this publisher was fenced. */
  commit(): Promise<void>;
  /** Drop every message of the batch. */
  abort(): Promise<void>;
}

/** An ordered stream of committed messages from one single-partition topic. */
export interface MessageStream {
  /**
   * Deliver messages from `offset` on (the earliest when undefined), one at a time and in order; the
   * next is delivered once `handler` resolves (back-pressure). `onFailure` hears of a stream that died
   * and will not recover by itself.
   */
  start(offset: string | undefined, handler: (m: StoredMessage) => Promise<void>, onFailure?: (err: Error) => void): Promise<void>;
  /** Stop delivering; resolves when no handler call is running. */
  stop(): Promise<void>;
  /** Record how far the stream has been applied (for backlog monitoring; not the resume point). */
  commit(nextOffset: string): Promise<void>;
}

/** Publishes messages at least once (conflict reports, dead letters). */
export interface EventPublisher {
  publish(messages: OutgoingMessage[]): Promise<void>;
}

/**
 * Local capture's progress, as apply needs it (DESIGN.md section 5 rule 4, the race): before deciding
 * on a row that is missing here, apply waits until capture has recorded the tombstones of every local
 * delete up to the binlog position it read.
 */
export interface LocalProgress {
  /** Resolves once capture has passed `position` (a binlog position); rejects after `timeoutMs`. */
  waitUntilCovered(position: string, timeoutMs: number): Promise<void>;
}

/** A local row image that stopped holding its values (the before-image of a local update or delete). */
export interface ReleasedImage {
  schema: string;
  table: string;
  image: Row;
}

/**
 * The claims of local images on unique values they release (apply/unique-claims.ts): the applier's
 * unique-key decisions must see them, as they see local deletes' tombstones, so capture records them
 * before it counts their transaction as covered (LocalProgress).
 */
export interface LocalReleases {
  /** Whether images of this table are wanted (false only once it is known to have no unique key). Synchronous. */
  wants(schema: string, table: string): boolean;
  record(images: ReleasedImage[]): Promise<void>;
}

/** What `drc verify --repair` records with a repaired key (drc_meta.conflicts, reason `verify-repair`). */
export interface RepairNote {
  /** The ezone recorded as the repair's origin: whose row (or delete) won; '-' when none is known. */
  origin: string;
  /** The winner's version (of the row, or of the newest delete). */
  incomingVersion: string | null;
  /** The version of the row this ezone had. */
  localVersion: string | null;
  /** The winning image (null: the key is deleted). */
  incoming: Row | null;
  /** The row this ezone had (null: none). */
  local: Row | null;
}

/**
 * Applies one change outside any stream: how `drc verify --repair` writes the last-writer-wins winner
 * into an ezone that disagrees. The change goes through the normal decisions, marker first (so capture
 * does not ship the repair again), in a transaction of its own.
 */
export interface RepairApplier {
  /**
   * Apply `change` as coming from `origin` (the ezone whose row or delete won), and record `note` in
   * drc_meta.conflicts in the same transaction. Resolves once committed; rolls back on any error.
   */
  apply(change: RowChange, origin: string, note: RepairNote): Promise<void>;
}

/** What one chunk of `drc bootstrap` did in the target ezone. */
export interface CopyOutcome {
  /** Rows written or already identical here. */
  written: number;
  /** Rows that lost: a newer row or a tombstone at least as new is here (not recorded as conflicts). */
  skipped: number;
}

/**
 * How `drc bootstrap` writes copied rows into the target ezone (admin/ never imports apply/; the CLI
 * hands in the adapter): one chunk in one target transaction, marker first (capture does not ship the
 * copy again), every row an insert carrying its own version, decided by the applier's rules — applied
 * only if newer than the row here and than every tombstone of the key, whatever its origin.
 */
export interface CopyApplier {
  applyChunk(changes: RowChange[], stale?: StaleRivals): Promise<CopyOutcome>;
  /** After a table's chunks written with `stale`: its copied rows that lost a unique value, copied once more as SOURCE holds them now. */
  retryLosers?(schema: string, table: string, stale: StaleRivals): Promise<CopyOutcome>;
}

/**
 * A re-seed's rows only TARGET holds, as a chunk meets them (admin/bootstrap-target-only.ts): a row of
 * TARGET that beats a copied row on a unique value and is not newer than `horizon` is an image SOURCE
 * never saw. Before the chunk is written it gives way to SOURCE's state of its key (`sourceRows`, asked
 * with the key's values, answers SOURCE's rows as copied changes): removed where SOURCE lacks the key,
 * else SOURCE's image copied first.
 */
export interface StaleRivals {
  horizon: string;
  versionColumn: string;
  sourceRows(where: string, params: unknown[]): Promise<RowChange[]>;
}

/**
 * What the admin tools (`drc lag`, `drc doctor`) ask of a Kafka cluster: is it there, and how far
 * each topic goes. Declared here so admin/ never imports transport/; the CLI hands in the adapter.
 */
export interface BrokerInspector {
  /** Brokers in the cluster. Throws when no broker can be reached. */
  brokerCount(): Promise<number>;
  /**
   * The high-water mark (the offset the next message will get) of partition 0 of each topic. Topics
   * that do not exist yet are absent from the result. Throws when no broker can be reached.
   */
  endOffsets(topics: string[]): Promise<Map<string, string>>;
  /** Release the connection. */
  close(): Promise<void>;
}

/** A topic DRC creates when it is missing. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  /** -1 = the broker's default. */
  replicationFactor: number;
  /** Topic-level settings, e.g. `max.message.bytes`. */
  config?: Record<string, string>;
}

/**
 * One Kafka cluster as the daemon uses it, whatever client library speaks to it (`kafka.client`):
 * the factories of the ports above plus the two direct reads capture needs. Every error an adapter
 * lets out is a DrcError from errors.ts (or a handler's own error), so stages never see a client's
 * error classes. Both adapters choose partitions with Kafka's Java (murmur2) partitioner: a key
 * lands on the same partition whichever client wrote it.
 */
export interface KafkaTransport {
  /** Which client library this is (`kafka.client`). */
  readonly client: 'kafkajs' | 'platformatic';
  /** Create the topics that are missing and wait until every partition has a leader (idempotent, race-safe). */
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  /**
   * A transactional publisher with `transactionalId` (zombie fencing); `connect()` claims the id,
   * which aborts what a previous owner left open. `maxRequestBytes` bounds one produce request.
   */
  atomicPublisher(transactionalId: string, maxRequestBytes: number): AtomicPublisher & { connect(): Promise<void> };
  /** An idempotent, at-least-once publisher for reports. */
  eventPublisher(maxRequestBytes: number): EventPublisher & { connect(): Promise<void>; close(): Promise<void> };
  /** Partition 0 of `topic`, read_committed (`groupId` names the reader; committed offsets are informational). */
  messageStream(topic: string, groupId: string): MessageStream;
  /** The last committed message of partition 0 of `topic` that `accept` accepts (undefined: none). */
  lastCommittedMatching(topic: string, accept: (m: StoredMessage) => boolean, options?: { timeoutMs?: number }): Promise<StoredMessage | undefined>;
  /** Release what the transport itself holds (ports it created are closed by their users). */
  close(): Promise<void>;
}
