/**
 * The KafkaTransport port (model/ports.ts) over @platformatic/kafka 2.12.1 (`kafka.client:
 * platformatic`): maintained, transactions with idempotence, read_committed. Producers use its
 * compatibility (Java murmur2) partitioner; readers fetch partition 0 directly (partition-reader.ts).
 */
import type { BaseOptions } from '@platformatic/kafka';
import type { KafkaConfig } from '../../config/schema.js';
import type { KafkaTransport, StoredMessage, TopicSpec } from '../../model/ports.js';
import { PlatformaticEventPublisher } from './event-publisher.js';
import { baseOptions } from './options.js';
import { PlatformaticAtomicPublisher } from './publisher.js';
import { PlatformaticMessageStream } from './stream.js';
import { lastCommittedMatching } from './tail.js';
import { ensureTopics } from './topics.js';

export class PlatformaticTransport implements KafkaTransport {
  readonly client = 'platformatic' as const;
  private readonly base: BaseOptions;
  private readonly transactionTimeoutMs: number;

  constructor(config: KafkaConfig, options: { brokers?: string[]; clientId: string }) {
    this.base = baseOptions(config, options);
    this.transactionTimeoutMs = config.transactionTimeout;
  }

  ensureTopics(specs: TopicSpec[]): Promise<void> {
    return ensureTopics(this.base, specs);
  }

  atomicPublisher(transactionalId: string, maxRequestBytes: number): PlatformaticAtomicPublisher {
    return new PlatformaticAtomicPublisher(this.base, transactionalId, maxRequestBytes, this.transactionTimeoutMs);
  }

  eventPublisher(maxRequestBytes: number): PlatformaticEventPublisher {
    return new PlatformaticEventPublisher(this.base, maxRequestBytes);
  }

  messageStream(topic: string, groupId: string): PlatformaticMessageStream {
    return new PlatformaticMessageStream(this.base, topic, groupId);
  }

  lastCommittedMatching(topic: string, accept: (m: StoredMessage) => boolean, options?: { timeoutMs?: number }): Promise<StoredMessage | undefined> {
    return lastCommittedMatching(this.base, topic, accept, options);
  }

  async close(): Promise<void> {
    // Every producer, reader and admin client is its own connection pool, closed by its user.
  }
}
