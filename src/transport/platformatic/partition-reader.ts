/**
 * Reads partition 0 of one topic with Fetch requests of its own, read_committed, without joining a
 * consumer group: DRC chooses where reading starts (the applied position kept in the target
 * database), so a group would only add a join round and a dead member's session to wait for.
 *
 * Aborted transactions are dropped here, as Kafka's Java consumer does (Fetcher/CompletedFetch):
 * the broker lists the aborted transactions overlapping the fetched range; a transactional batch of
 * a producer whose aborted transaction began at or before the batch's end is skipped until that
 * producer's ABORT marker. @platformatic/kafka 2.12.1 filters only aborted ranges whose marker is
 * in the same response, so a large aborted transaction read in several fetches would leak through.
 */
import { FetchIsolationLevels, type Consumer, type RecordsBatch } from '@platformatic/kafka';
import type { StoredMessage } from '../../model/ports.js';
import { textHeaders } from '../headers.js';

const IS_TRANSACTIONAL = 1 << 4;
const IS_CONTROL = 1 << 5;
/** Control record type in the key (version int16, type int16): 0 = ABORT, 1 = COMMIT. */
const ABORT = 0;

/** What committedRecords reads of one partition's Fetch answer. */
export interface FetchedPartition {
  records?: RecordsBatch[] | null;
  abortedTransactions?: { producerId: bigint; firstOffset: bigint }[] | null;
}

export interface FetchedRange {
  /** The committed data messages at or after the offset asked for, in order. */
  messages: StoredMessage[];
  /** Where the next fetch starts (past control records and aborted messages too). */
  next: bigint;
}

export class PartitionReader {
  private topicId: string | undefined;
  private leader: number | undefined;

  constructor(
    private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    private readonly topic: string,
    private readonly options: { maxWaitMs: number; maxBytes: number },
  ) {
    consumer.topics.track(topic);
  }

  /** The earliest offset and the last stable offset (the end of what read_committed sees) of partition 0. */
  async bounds(): Promise<{ low: bigint; high: bigint }> {
    const low = await this.consumer.listOffsets({ topics: [this.topic], timestamp: -2n, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
    const high = await this.consumer.listOffsets({ topics: [this.topic], timestamp: -1n, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
    const lo = low.get(this.topic)?.[0];
    const hi = high.get(this.topic)?.[0];
    if (lo === undefined || hi === undefined) throw Object.assign(new Error(`topic ${this.topic} has no partition 0`), { topicMissing: true });
    return { low: lo, high: hi };
  }

  /** One Fetch from `offset` (waits up to maxWaitMs for data). */
  async fetch(offset: bigint): Promise<FetchedRange> {
    if (this.topicId === undefined || this.leader === undefined) await this.locate(false);
    let response;
    try {
      response = await this.consumer.fetch({
        node: this.leader!,
        topics: [{ topicId: this.topicId!, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: this.options.maxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
        maxWaitTime: this.options.maxWaitMs,
        minBytes: 1,
        maxBytes: this.options.maxBytes,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      });
    } catch (err) {
      // The leader may have moved (a broker restarted): ask again next time.
      this.leader = undefined;
      throw err;
    }
    const partition = response.responses.find((t) => t.topicId === this.topicId)?.partitions.find((p) => p.partitionIndex === 0);
    return committedRecords(partition, offset);
  }

  private async locate(force: boolean): Promise<void> {
    const metadata = await this.consumer.metadata({ topics: [this.topic], forceUpdate: force });
    const t = metadata.topics.get(this.topic);
    if (!t || t.partitions.length === 0) throw Object.assign(new Error(`topic ${this.topic} has no partition 0`), { topicMissing: true });
    this.topicId = t.id;
    this.leader = t.partitions[0]!.leader;
  }
}

/** The committed data records of one partition's fetch answer, from `offset` on (pure; see the file comment). */
export function committedRecords(partition: FetchedPartition | undefined, offset: bigint): FetchedRange {
  const messages: StoredMessage[] = [];
  let next = offset;
  if (!partition?.records) return { messages, next };
  const pending = [...(partition.abortedTransactions ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const aborting = new Set<bigint>();
  for (const batch of partition.records) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last + 1n > next) next = last + 1n;
    // Aborted transactions begun by now, taken at every batch, markers included: the library may have
    // removed an aborted range already, and its ABORT marker must still close it here.
    while (pending.length > 0 && pending[0]!.firstOffset <= last) aborting.add(pending.shift()!.producerId);
    if (batch.attributes & IS_CONTROL) {
      const type = batch.records[0]?.key && batch.records[0].key.length >= 4 ? batch.records[0].key.readInt16BE(2) : -1;
      if (type === ABORT) aborting.delete(batch.producerId);
      continue;
    }
    if (batch.attributes & IS_TRANSACTIONAL && aborting.has(batch.producerId)) continue;
    for (const record of batch.records) {
      const at = batch.firstOffset + BigInt(record.offsetDelta);
      if (at < offset) continue;
      const headers = textHeaders(record.headers ?? []);
      messages.push({ offset: at.toString(), key: record.key ? record.key.toString() : null, value: record.value ?? null, ...(headers ? { headers } : {}) });
    }
  }
  return { messages, next };
}
