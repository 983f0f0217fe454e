/**
 * Why a producer stopped retrying, shared by both producers (publisher.ts, event-publisher.ts). They
 * retry without limit, so that a broker outage stalls instead of failing; a refused authentication or
 * a TLS failure is no outage: after AUTH_GIVE_UP (options.ts authBoundedDelay) the producer is closed,
 * which ends the operation under way, and what that operation throws is the refusal, naming
 * `kafka.sasl` (or the TLS files), instead of what the closed client reports.
 */
import type { BaseOptions } from '@platformatic/kafka';
import { KafkaRejectedError, KafkaTlsError, type DrcError } from '../../errors.js';
import { toDrcError } from './errors.js';
import { AUTH_GIVE_UP, authBoundedDelay, type RetryDelay } from './options.js';

/** The part of a producer the refusal needs. */
interface Closable {
  close(force: boolean): Promise<void>;
}

export class ProducerRefusal {
  private refused: Error | undefined;

  /**
   * @param base the options the producers are made from (a TLS failure names their files).
   * @param who the producer as the message names it ("the producer", "the event producer").
   */
  constructor(
    private readonly base: BaseOptions,
    private readonly who: string,
  ) {}

  /** The refusal, once a producer was given up; undefined while none was (or since `clear`). */
  get reason(): Error | undefined {
    return this.refused;
  }

  /** Forget the refusal (before a new producer connects). */
  clear(): void {
    this.refused = undefined;
  }

  /** `delay` for `producer()`, giving up on it once authentication or TLS kept failing (`limits`, `now`: for tests). */
  retryDelay(delay: RetryDelay, producer: () => Closable, limits = AUTH_GIVE_UP, now = Date.now): RetryDelay {
    return authBoundedDelay(delay, (err, failures, forMs) => this.giveUp(producer(), err, failures, forMs), limits, now);
  }

  /** What to throw for `err` of a producer: the refusal when there is one, else the classified error. */
  failure(err: unknown): unknown {
    return this.refused ?? toDrcError(err, this.base);
  }

  private giveUp(producer: Closable, err: unknown, failures: number, forMs: number): void {
    if (this.refused) return;
    const reason = toDrcError(err, this.base) as DrcError;
    // A TLS failure already says which broker, key and file; a refused authentication is told here.
    this.refused =
      reason instanceof KafkaTlsError
        ? reason
        : new KafkaRejectedError(
            `${reason.message.replace(/^Kafka: /, `Kafka refused ${this.who}: `)} — ${failures} attempts over ${Math.round(forMs / 1000)} s; check kafka.sasl (username, password or passwordFile) against the brokers' credentials`,
            { cause: err, context: { ...reason.context, failures } },
          );
    // Not from inside the library's retry step: it listens for the close only once the delay is returned.
    setImmediate(() => void producer.close(true).catch(() => undefined));
  }
}
