import type { Kafka } from 'kafkajs';
import { rethrowKafka } from './kafka-errors.js';

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** -1 = the broker's default. */
  replicationFactor: number;
  /** Topic-level settings, e.g. `max.message.bytes`. */
  config?: Record<string, string>;
}

/** Create the topics that do not exist yet (idempotent; safe when several daemons race). */
export function ensureTopics(kafka: Kafka, specs: TopicSpec[]): Promise<void> {
  return createMissing(kafka, specs).catch(rethrowKafka);
}

async function createMissing(kafka: Kafka, specs: TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
  } finally {
    await admin.disconnect();
  }
}
