import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { TailTimeoutError, TopicMissingError } from '../../errors.js';
import type { StoredMessage } from '../../model/ports.js';
import { textHeaders } from '../headers.js';
import { rethrowFor } from './kafka-errors.js';

/**
 * Reads the end of a single-partition topic with a read_committed consumer: the last committed
 * message that satisfies `accept`, reading back in growing windows. Undefined when none does.
 * Memory stays bounded: only the latest accepted message is kept.
 */
export function lastCommittedMatching(
  kafka: Kafka,
  topic: string,
  accept: (m: StoredMessage) => boolean,
  options: { timeoutMs?: number } = {},
): Promise<StoredMessage | undefined> {
  return readBack(kafka, topic, accept, options.timeoutMs ?? 60_000).catch(rethrowFor(kafka));
}

async function readBack(kafka: Kafka, topic: string, accept: (m: StoredMessage) => boolean, timeoutMs: number): Promise<StoredMessage | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  let low: bigint;
  let high: bigint;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const p0 = offsets.find((o) => o.partition === 0);
    if (!p0) throw new TopicMissingError(topic);
    low = BigInt(p0.low);
    high = BigInt(p0.high);
  } finally {
    await admin.disconnect();
  }
  for (let window = 64n; ; window *= 8n) {
    const start = high - window > low ? high - window : low;
    if (start >= high) return undefined;
    const found = await scan(kafka, topic, start, high, accept, timeoutMs);
    if (found || start === low) return found;
  }
}

/** Consume [start, end) of partition 0 and return the last accepted message. */
async function scan(
  kafka: Kafka,
  topic: string,
  start: bigint,
  end: bigint,
  accept: (m: StoredMessage) => boolean,
  timeoutMs: number,
): Promise<StoredMessage | undefined> {
  const consumer = kafka.consumer({ groupId: `drc-tail-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  let found: StoredMessage | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TailTimeoutError(topic, timeoutMs)), timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      // Fires for data batches and for batches of only control records / aborted messages alike.
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        if (BigInt(e.payload.lastOffset) >= end - 1n) finish();
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              const headers = textHeaders(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v[v.length - 1] : v]));
              const stored: StoredMessage = { offset: m.offset, key: m.key?.toString() ?? null, value: m.value, ...(headers ? { headers } : {}) };
              if (accept(stored)) found = stored;
            }
          },
        })
        .then(() => consumer.seek({ topic, partition: 0, offset: start.toString() }))
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return found;
}
