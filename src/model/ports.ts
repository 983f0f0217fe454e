/**
 * The small interfaces between pipeline stages. capture/, apply/ and transport/ depend on these,
 * never on each other; daemon.ts hands the adapters in.
 */

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
