/**
 * The KafkaTransport port (model/ports.ts) over kafkajs 2.2.4 (`kafka.client: kafkajs`): the adapter
 * DRC was first written on, kept selectable because deployments know it. Its DefaultPartitioner is
 * Kafka's Java partitioner (murmur2), the one the platformatic adapter uses too.
 */
import type { Kafka } from 'kafkajs';
import type { KafkaConfig } from '../../config/schema.js';
import type { KafkaTransport, StoredMessage, TopicSpec } from '../../model/ports.js';
import type { Logger } from '../../ops/logger.js';
import { createKafka } from './client.js';
import { KafkaEventPublisher } from './event-publisher.js';
import { KafkaAtomicPublisher } from './publisher.js';
import { KafkaMessageStream } from './stream.js';
import { lastCommittedMatching } from './tail.js';
import { ensureTopics } from './topics.js';

export class KafkajsTransport implements KafkaTransport {
  readonly client = 'kafkajs' as const;
  private readonly kafka: Kafka;
  private readonly transactionTimeoutMs: number;

  constructor(config: KafkaConfig, options: { brokers?: string[]; clientId: string; log: Logger }) {
    this.kafka = createKafka(config, options);
    this.transactionTimeoutMs = config.transactionTimeout;
  }

  ensureTopics(specs: TopicSpec[]): Promise<void> {
    return ensureTopics(this.kafka, specs);
  }

  atomicPublisher(transactionalId: string, maxRequestBytes: number): KafkaAtomicPublisher {
    return new KafkaAtomicPublisher(this.kafka, transactionalId, maxRequestBytes, this.transactionTimeoutMs);
  }

  eventPublisher(maxRequestBytes: number): KafkaEventPublisher {
    return new KafkaEventPublisher(this.kafka, maxRequestBytes);
  }

  messageStream(topic: string, groupId: string): KafkaMessageStream {
    return new KafkaMessageStream(this.kafka, topic, groupId);
  }

  lastCommittedMatching(topic: string, accept: (m: StoredMessage) => boolean, options?: { timeoutMs?: number }): Promise<StoredMessage | undefined> {
    return lastCommittedMatching(this.kafka, topic, accept, options);
  }

  async close(): Promise<void> {
    // kafkajs holds connections per producer, consumer and admin client, each closed by its user.
  }
}
