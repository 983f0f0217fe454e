import type { Kafka } from 'kafkajs';
import type { TopicSpec } from '../../model/ports.js';
import { toDrcError } from './kafka-errors.js';

export type { TopicSpec };

/** Attempts of ensureTopics while the brokers answer that a topic is still being created. */
const ATTEMPTS = 10;

/**
 * Create the topics that do not exist yet and wait until each partition has a leader (idempotent;
 * safe when several daemons race: a topic another daemon is creating at the same moment answers
 * "does not host this topic-partition" or "leader not available" for a while — retried, not fatal).
 */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await createMissing(kafka, specs);
      await waitForLeaders(kafka, specs.map((s) => s.topic));
      return;
    } catch (err) {
      if (attempt >= ATTEMPTS || !stillCreating(err)) throw toDrcError(err, kafka);
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

const CREATING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

/** A broker's answer while a topic is being created (kafkajs may wrap it once it ran out of its own retries). */
function stillCreating(err: unknown): boolean {
  for (let e = err as { type?: string; retriable?: boolean; originalError?: unknown } | undefined; e; e = e.originalError as typeof e) {
    if ((e.type && CREATING.has(e.type)) || e.retriable === true) return true;
  }
  return false;
}

/** Every partition of every topic has a leader (else a retriable error, as the broker would say). */
async function waitForLeaders(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics: found } = await admin.fetchTopicMetadata({ topics });
    const leaderless = found.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
    if (leaderless.length > 0) {
      throw Object.assign(new Error(`topics without a leader yet: ${leaderless.map((t) => t.name).join(', ')}`), { retriable: true });
    }
  } finally {
    await admin.disconnect();
  }
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
