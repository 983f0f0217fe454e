import { Producer, type BaseOptions } from '@platformatic/kafka';
import { NotConnectedError } from '../../errors.js';
import type { EventPublisher, OutgoingMessage } from '../../model/ports.js';
import { recordBytes, splitBySize, tooLarge } from '../record-size.js';
import { backoff } from './options.js';
import { rethrowFor, toDrcError } from './errors.js';
import { producerSettings, toRecords, type StringProducer } from './publisher.js';

/** An idempotent producer for reports (conflicts, dead letters): at least once, in order per key. */
export class PlatformaticEventPublisher implements EventPublisher {
  private producer: StringProducer | undefined;

  constructor(
    private readonly base: BaseOptions,
    private readonly maxRequestBytes: number,
  ) {}

  async connect(): Promise<void> {
    const producer = new Producer<string, Buffer, string, string>({ ...producerSettings(this.base), retries: Number.MAX_SAFE_INTEGER, retryDelay: backoff(100, 5000) });
    // Fail now when no broker answers rather than at the first report.
    await producer.metadata({ topics: [] }).catch(async (err: unknown) => {
      await producer.close().catch(() => undefined);
      throw toDrcError(err, this.base);
    });
    this.producer = producer;
  }

  async publish(messages: OutgoingMessage[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new NotConnectedError('event publisher');
    // A report larger than a message cannot be published; it must not keep the others from being published.
    const refused = tooLarge(messages, this.maxRequestBytes);
    const fitting = refused ? messages.filter((m) => recordBytes(m) <= this.maxRequestBytes) : messages;
    for (const group of splitBySize(fitting, this.maxRequestBytes)) {
      await producer.send({ messages: toRecords(group) }).catch(rethrowFor(this.base));
    }
    if (refused) throw refused;
  }

  async close(): Promise<void> {
    await this.producer?.close(true).catch(() => undefined);
    this.producer = undefined;
  }
}
