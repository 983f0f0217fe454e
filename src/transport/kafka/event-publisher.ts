import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { NotConnectedError } from '../../errors.js';
import type { EventPublisher, OutgoingMessage } from '../../model/ports.js';
import { rethrowFor } from './kafka-errors.js';
import { recordBytes, splitBySize, tooLarge } from '../record-size.js';

/** An idempotent producer for reports (conflicts, dead letters): at least once, in order per key. */
export class KafkaEventPublisher implements EventPublisher {
  private producer: Producer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly maxRequestBytes: number,
  ) {}

  async connect(): Promise<void> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5000 },
    });
    await producer.connect().catch(rethrowFor(this.kafka));
    this.producer = producer;
  }

  async publish(messages: OutgoingMessage[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new NotConnectedError('event publisher');
    // A report larger than a message (a conflict between two rows of tens of MB) cannot be published;
    // it must not keep the others from being published.
    const refused = tooLarge(messages, this.maxRequestBytes);
    const fitting = refused ? messages.filter((m) => recordBytes(m) <= this.maxRequestBytes) : messages;
    for (const group of splitBySize(fitting, this.maxRequestBytes)) {
      const byTopic = new Map<string, { key: string; value: Buffer; headers?: Record<string, string> }[]>();
      for (const m of group) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), { key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) }]);
      await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) }).catch(rethrowFor(this.kafka));
    }
    if (refused) throw refused;
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
    this.producer = undefined;
  }
}
