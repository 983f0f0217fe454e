import { Producer, type BaseOptions } from '@platformatic/kafka';
import { NotConnectedError } from '../../errors.js';
import type { EventPublisher, OutgoingMessage } from '../../model/ports.js';
import { recordBytes, splitBySize, tooLarge } from '../record-size.js';
import { backoff } from './options.js';
import { producerSettings, toRecords, type StringProducer } from './publisher.js';
import { ProducerRefusal } from './refusal.js';

/**
 * An idempotent producer for reports (conflicts, dead letters): at least once, in order per key. It
 * retries without limit except a refused authentication or TLS (refusal.ts): that report fails naming
 * the cause, and the next one connects a new producer (the operator may have fixed the credentials).
 */
export class PlatformaticEventPublisher implements EventPublisher {
  private producer: StringProducer | undefined;
  private readonly refusal: ProducerRefusal;
  /** A new producer connecting after a refusal: reports wait for it. */
  private reconnecting: Promise<void> | undefined;
  /** The producer connect() waits on (its metadata retries without limit while no broker answers): close() closes it. */
  private connecting: StringProducer | undefined;

  constructor(
    private readonly base: BaseOptions,
    private readonly maxRequestBytes: number,
  ) {
    this.refusal = new ProducerRefusal(base, 'the event producer');
  }

  async connect(): Promise<void> {
    this.refusal.clear();
    const producer: StringProducer = new Producer<string, Buffer, string, string>({
      ...producerSettings(this.base),
      retries: Number.MAX_SAFE_INTEGER,
      retryDelay: this.refusal.retryDelay(backoff(100, 5000), () => producer),
    });
    // Fail now when no broker answers rather than at the first report.
    this.connecting = producer;
    await producer
      .metadata({ topics: [] })
      .catch(async (err: unknown) => {
        await producer.close().catch(() => undefined);
        throw this.refusal.failure(err);
      })
      .finally(() => {
        if (this.connecting === producer) this.connecting = undefined;
      });
    const old = this.producer;
    this.producer = producer;
    await old?.close(true).catch(() => undefined);
  }

  async publish(messages: OutgoingMessage[]): Promise<void> {
    const producer = await this.ready();
    // A report larger than a message cannot be published; it must not keep the others from being published.
    const refused = tooLarge(messages, this.maxRequestBytes);
    const fitting = refused ? messages.filter((m) => recordBytes(m) <= this.maxRequestBytes) : messages;
    for (const group of splitBySize(fitting, this.maxRequestBytes)) {
      await producer.send({ messages: toRecords(group) }).catch((err: unknown) => {
        throw this.refusal.failure(err);
      });
    }
    if (refused) throw refused;
  }

  /** The producer to send with: after a refusal, a new one (one connection attempt for concurrent reports). */
  private async ready(): Promise<StringProducer> {
    if (!this.producer) throw new NotConnectedError('event publisher');
    if (this.refusal.reason && !this.reconnecting) {
      this.reconnecting = this.connect().finally(() => {
        this.reconnecting = undefined;
      });
    }
    if (this.reconnecting) await this.reconnecting;
    return this.producer;
  }

  /** Closes the producer, and one still connecting (a broker outage must not hold shutdown). */
  async close(): Promise<void> {
    await this.connecting?.close(true).catch(() => undefined);
    await this.reconnecting?.catch(() => undefined);
    await this.producer?.close(true).catch(() => undefined);
    this.producer = undefined;
  }
}
