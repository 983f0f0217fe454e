import { randomUUID } from 'node:crypto';
import { Consumer, type BaseOptions } from '@platformatic/kafka';
import { TailTimeoutError, TopicMissingError } from '../../errors.js';
import type { StoredMessage } from '../../model/ports.js';
import { backoff } from './options.js';
import { toDrcError } from './errors.js';
import { PartitionReader } from './partition-reader.js';

/**
 * The last committed message of partition 0 of `topic` that `accept` accepts, reading back from the
 * end in growing windows (read_committed, aborted transactions dropped). Undefined when none does.
 * Memory stays bounded: only the latest accepted message is kept.
 */
export async function lastCommittedMatching(
  base: BaseOptions,
  topic: string,
  accept: (m: StoredMessage) => boolean,
  options: { timeoutMs?: number } = {},
): Promise<StoredMessage | undefined> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const consumer = new Consumer({ ...base, groupId: `drc-tail-${randomUUID()}`, retries: 5, retryDelay: backoff(200, 2000) });
  try {
    const reader = new PartitionReader(consumer, topic, { maxWaitMs: 200, maxBytes: 4 << 20 });
    let bounds;
    try {
      bounds = await reader.bounds();
    } catch (err) {
      if ((err as { topicMissing?: boolean }).topicMissing) throw new TopicMissingError(topic);
      throw err;
    }
    const { low, high } = bounds;
    const deadline = Date.now() + timeoutMs;
    for (let window = 64n; ; window *= 8n) {
      const start = high - window > low ? high - window : low;
      if (start >= high) return undefined;
      let found: StoredMessage | undefined;
      for (let next = start; next < high; ) {
        if (Date.now() > deadline) throw new TailTimeoutError(topic, timeoutMs);
        const range = await reader.fetch(next);
        for (const m of range.messages) if (BigInt(m.offset) < high && accept(m)) found = m;
        next = range.next;
      }
      if (found || start === low) return found;
    }
  } catch (err) {
    throw toDrcError(err, base);
  } finally {
    await consumer.close().catch(() => undefined);
  }
}
