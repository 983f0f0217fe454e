/**
 * Wires config → stages: the only place (with cli/) that knows capture, apply and the Kafka
 * transport together.
 */
import { ezoneOf } from './config/loader.js';
import type { Config } from './config/schema.js';
import { Capture } from './capture/capture.js';
import { createPool } from './db/connect.js';
import { isFinalChunk } from './model/envelope.js';
import { changesTopic, conflictsTopic, deadLetterTopic, notifyTopic } from './model/topics.js';
import type { Logger } from './ops/logger.js';
import { createKafka } from './transport/kafka/client.js';
import { KafkaAtomicPublisher } from './transport/kafka/publisher.js';
import { lastCommittedMatching } from './transport/kafka/tail.js';
import { ensureTopics, type TopicSpec } from './transport/kafka/topics.js';

/** The topics an ezone's daemon writes to; created when missing. */
export function ownTopics(config: Config, ezone: string): TopicSpec[] {
  const { topicPrefix: prefix, replicationFactor, notifyPartitions, maxMessageBytes } = config.kafka;
  // Room for one chunk plus record overhead; brokers must allow it (the default 1 MB does).
  const maxBytes = { 'max.message.bytes': String(Math.max(maxMessageBytes + 65_536, 1_048_588)) };
  return [
    // One partition: the whole order of an origin's transactions is kept.
    { topic: changesTopic(prefix, ezone), partitions: 1, replicationFactor, config: maxBytes },
    { topic: notifyTopic(prefix, ezone), partitions: notifyPartitions, replicationFactor },
    { topic: deadLetterTopic(prefix, ezone), partitions: 1, replicationFactor, config: maxBytes },
    { topic: conflictsTopic(prefix), partitions: 1, replicationFactor },
  ];
}

export interface Running {
  capture: Capture;
  /** Drain and release everything. */
  close(): Promise<void>;
}

/** Start capture for one ezone: topics, fenced transactional producer, resume from Kafka. */
export async function startCapture(config: Config, ezone: string, log: Logger): Promise<Running> {
  const ez = ezoneOf(config, ezone);
  const kafka = createKafka(config.kafka, { brokers: ez.kafka?.brokers, clientId: `${config.kafka.clientId}-${ezone}`, log });
  await ensureTopics(kafka, ownTopics(config, ezone));
  const topic = changesTopic(config.kafka.topicPrefix, ezone);
  const publisher = new KafkaAtomicPublisher(
    kafka,
    `${config.kafka.clientId}.${config.kafka.topicPrefix}.${ezone}.capture`,
    config.kafka.maxMessageBytes + 4096,
  );
  // Claiming the transactional id first fences a zombie and aborts what it left open, so the tail
  // read next sees only committed transactions.
  await publisher.connect();
  const pool = createPool(ez.mysql, 4);
  const capture = new Capture({
    ezone,
    config,
    log,
    pool,
    publisher,
    lastPublished: async () => (await lastCommittedMatching(kafka, topic, (m) => isFinalChunk(m.value)))?.value,
  });
  try {
    await capture.start();
  } catch (err) {
    await publisher.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw err;
  }
  return {
    capture,
    close: async () => {
      await capture.stop();
      await publisher.close();
      await pool.end();
    },
  };
}
