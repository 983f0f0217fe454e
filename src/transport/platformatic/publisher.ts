import { compatibilityPartitioner, Producer, stringSerializer, type BaseOptions } from '@platformatic/kafka';
import { BatchOpenError, NotConnectedError } from '../../errors.js';
import type { AtomicPublisher, OutgoingMessage, PublishBatch } from '../../model/ports.js';
import { splitBySize, tooLarge } from '../record-size.js';
import { fencedOrTimedOut } from '../fencing.js';
import { backoff } from './options.js';
import { ProducerRefusal } from './refusal.js';

export type StringProducer = Producer<string, Buffer, string, string>;
type Transaction = Awaited<ReturnType<StringProducer['beginTransaction']>>;

/** Values go out as the bytes they are. */
const bytes = (value?: Buffer): Buffer | undefined => value;

/** Producer settings both publishers share: Java-compatible partitions, string keys and headers. */
export function producerSettings(base: BaseOptions) {
  return {
    ...base,
    idempotent: true,
    // Kafka's Java partitioner (murmur2, positive): the kafkajs adapter's DefaultPartitioner is the
    // same, so a key lands on one partition whichever client wrote it. The library's default differs.
    partitioner: compatibilityPartitioner,
    serializers: { key: stringSerializer, value: bytes, headerKey: stringSerializer, headerValue: stringSerializer },
  } as const;
}

/** `OutgoingMessage`s as the library sends them. */
export function toRecords(messages: OutgoingMessage[]) {
  return messages.map((m) => ({ topic: m.topic, key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) }));
}

/**
 * A transactional @platformatic/kafka producer: every batch is one Kafka transaction, visible to
 * read_committed consumers at commit or never. Its transactional id fences older producers of the
 * same identity (InitProducerId bumps the epoch and aborts what the previous owner left open).
 */
export class PlatformaticAtomicPublisher implements AtomicPublisher {
  private producer: StringProducer | undefined;
  private open: Transaction | undefined;
  /** Why this producer stopped retrying (authentication or TLS kept failing): thrown instead of what the closed client reports. */
  private readonly refusal: ProducerRefusal;

  /**
   * @param maxRequestBytes upper bound of one produce request (sends are split below it).
   * @param transactionTimeoutMs the broker aborts a transaction left open this long (the library
   *   sends its `timeout` as the transaction timeout, and as the produce request's broker-side timeout).
   */
  constructor(
    private readonly base: BaseOptions,
    private readonly transactionalId: string,
    private readonly maxRequestBytes: number,
    private readonly transactionTimeoutMs = 120_000,
  ) {
    this.refusal = new ProducerRefusal(base, 'the producer');
  }

  /** Connect and claim the transactional id (aborting whatever a previous owner left open). */
  async connect(): Promise<void> {
    this.refusal.clear();
    const producer: StringProducer = new Producer<string, Buffer, string, string>({
      ...producerSettings(this.base),
      transactionalId: this.transactionalId,
      timeout: this.transactionTimeoutMs,
      // Exactly-once needs the idempotent producer to retry without limit; a broker outage stalls
      // the stream (visible in lag and health) instead of failing it. The first retry comes soon:
      // the common one is CONCURRENT_TRANSACTIONS, while the broker writes the previous commit's
      // markers (a few ms).
      // Authentication and TLS failures excepted: authBoundedDelay stops them after a while (options.ts).
      retries: Number.MAX_SAFE_INTEGER,
      retryDelay: this.refusal.retryDelay(backoff(5, 5000), () => producer),
    });
    try {
      // The first transaction runs FindCoordinator and InitProducerId: the epoch bump fences a zombie
      // and makes the broker abort what a crashed predecessor left open. Nothing is sent in it, so it
      // is dropped locally (an EndTxn for an empty transaction is refused by the broker).
      // Producer id and epoch -1 ask for the id's current producer with a bumped epoch; the library's
      // default (0, 0) names a producer that is not the current one, and the broker answers
      // PRODUCER_FENCED to the successor instead of fencing the zombie.
      const claim = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      await claim.cancel();
    } catch (err) {
      await producer.close().catch(() => undefined);
      throw this.failure(err);
    }
    this.producer = producer;
  }

  async begin(): Promise<PublishBatch> {
    const producer = this.producer;
    if (!producer) throw new NotConnectedError('publisher');
    if (this.open) throw new BatchOpenError();
    const txn = await producer.beginTransaction().catch((err: unknown) => {
      throw this.failure(err);
    });
    this.open = txn;
    // The broker's timer starts at the first AddPartitionsToTxn, after this: the age measured here is never less than its own.
    const openedAt = Date.now();
    const rethrow = (err: unknown): never => {
      throw this.failure(err, openedAt);
    };
    let sent = false;
    const done = () => {
      this.open = undefined;
    };
    return {
      send: async (messages: OutgoingMessage[]) => {
        const refused = tooLarge(messages, this.maxRequestBytes);
        if (refused) throw refused;
        for (const group of splitBySize(messages, this.maxRequestBytes)) {
          sent = true;
          await txn.send({ messages: toRecords(group) }).catch(rethrow);
        }
      },
      commit: async () => {
        try {
          if (sent) await txn.commit();
          else await txn.cancel();
        } catch (err) {
          rethrow(err);
        } finally {
          done();
        }
      },
      abort: async () => {
        try {
          if (!txn.completed) await (sent ? txn.abort() : txn.cancel()).catch(rethrow);
        } finally {
          done();
        }
      },
    };
  }

  /** What to throw for `err` of this producer: its refusal, a timed-out transaction (fencing.ts), or the classified error. */
  private failure(err: unknown, openedAt?: number): unknown {
    const drc = this.refusal.failure(err);
    return this.refusal.reason || openedAt === undefined ? drc : fencedOrTimedOut(drc, openedAt, this.transactionTimeoutMs);
  }

  async reset(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    this.open = undefined;
    await old?.close(true).catch(() => undefined);
    await this.connect();
  }

  async close(): Promise<void> {
    const txn = this.open;
    this.open = undefined;
    if (txn && !txn.completed) await txn.abort().catch(() => txn.cancel().catch(() => undefined));
    await this.producer?.close(true).catch(() => undefined);
    this.producer = undefined;
  }
}
