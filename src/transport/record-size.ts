/**
 * Sizes of messages as a produce request carries them, shared by every Kafka adapter: the broker
 * applies its message size limit to each partition's record batch, so publishers split below it.
 */
import { KafkaRejectedError } from '../errors.js';
import type { OutgoingMessage } from '../model/ports.js';

/** Record overhead per message (attributes, offset and timestamp deltas, length varints), generously. */
const RECORD_OVERHEAD = 96;

/** Bytes one message takes in a record batch: value, key and headers in UTF-8 bytes, plus framing. */
export function recordBytes(m: OutgoingMessage): number {
  let headers = 0;
  for (const [k, v] of Object.entries(m.headers ?? {})) headers += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8') + 10;
  return m.value.length + Buffer.byteLength(m.key, 'utf8') + headers + RECORD_OVERHEAD;
}

/** An error naming the messages larger than `limit` (topic and size, never content); undefined when none is. */
export function tooLarge(messages: OutgoingMessage[], limit: number): KafkaRejectedError | undefined {
  const over = messages.filter((m) => recordBytes(m) > limit);
  if (over.length === 0) return undefined;
  const largest = over.reduce((a, b) => (recordBytes(a) >= recordBytes(b) ? a : b));
  return new KafkaRejectedError(
    `${over.length} message(s) exceed kafka.maxMessageBytes and were not published (largest: ${recordBytes(largest)} bytes to ${largest.topic}, limit ${limit})`,
  );
}

/** Consecutive groups whose total size stays under `limit` (a larger single message goes alone). */
export function splitBySize(messages: OutgoingMessage[], limit: number): OutgoingMessage[][] {
  const groups: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = recordBytes(m);
    if (current.length > 0 && bytes + size > limit) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
