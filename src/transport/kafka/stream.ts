import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { MessageStream, StoredMessage } from '../../model/ports.js';
import { rethrowFor, toDrcError } from './kafka-errors.js';

/**
 * Partition 0 of one topic, read_committed, from an offset chosen by the caller (the applied position
 * kept in the target database), one message at a time. The consumer group never decides where reading
 * starts, so every start joins a group of its own: a new daemon taking over from a killed one must not
 * wait for the dead member's session to time out. (Committed offsets are informational only.)
 */
export class KafkaMessageStream implements MessageStream {
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly groupId: string,
  ) {}

  start(offset: string | undefined, handler: (m: StoredMessage) => Promise<void>, onFailure?: (err: Error) => void): Promise<void> {
    return this.run(offset, handler, onFailure).catch(rethrowFor(this.kafka));
  }

  private async run(offset: string | undefined, handler: (m: StoredMessage) => Promise<void>, onFailure?: (err: Error) => void): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `${this.groupId}.${randomBytes(4).toString('hex')}`,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 4 << 20,
      maxBytes: 8 << 20,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    this.consumer = consumer;
    // kafkajs restarts a crashed consumer itself unless the error is final; then the stream is dead.
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart && this.consumer === consumer) onFailure?.(toDrcError(e.payload.error, this.kafka) as Error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    const from = offset ?? (await this.earliest());
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        // Back-pressure may hold a message for a while: keep the group membership alive meanwhile.
        const beat = setInterval(() => void heartbeat().catch(() => undefined), 2000);
        try {
          for (const m of batch.messages) {
            if (!isRunning() || isStale()) break;
            await handler({ offset: m.offset, key: m.key?.toString() ?? null, value: m.value });
            resolveOffset(m.offset);
          }
        } finally {
          clearInterval(beat);
        }
      },
    });
    consumer.seek({ topic: this.topic, partition: 0, offset: from });
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect().catch(rethrowFor(this.kafka));
  }

  async commit(nextOffset: string): Promise<void> {
    await this.consumer?.commitOffsets([{ topic: this.topic, partition: 0, offset: nextOffset }]).catch(rethrowFor(this.kafka));
  }

  private async earliest(): Promise<string> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      return offsets.find((o) => o.partition === 0)?.low ?? '0';
    } finally {
      await admin.disconnect();
    }
  }
}
