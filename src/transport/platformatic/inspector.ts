/**
 * The BrokerInspector port (model/ports.ts) over a @platformatic/kafka admin client: the admin tools' only view of Kafka. It connects on first use, and says "unreachable"
 * within seconds (few quick retries), as an operator at a prompt expects.
 */
import { Admin, type BaseOptions } from '@platformatic/kafka';
import type { KafkaConfig } from '../../config/schema.js';
import { KafkaUnavailableError } from '../../errors.js';
import type { BrokerInspector } from '../../model/ports.js';
import { baseOptions, backoff } from './options.js';
import { rethrowFor } from './errors.js';

/** An answer within about this long, or the brokers count as down. */
const ANSWER_WITHIN_MS = 8000;

export class PlatformaticBrokerInspector implements BrokerInspector {
  private admin: Admin | undefined;
  private base: BaseOptions | undefined;

  constructor(
    private readonly config: KafkaConfig,
    private readonly clientId: string,
  ) {}

  async brokerCount(): Promise<number> {
    const metadata = await this.within(this.client().metadata({ topics: [], forceUpdate: true }));
    return metadata.brokers.size;
  }

  async endOffsets(topics: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const admin = this.client();
    // A topic that does not exist yet (no daemon has run) has nothing to report.
    const existing = new Set(await this.within(admin.listTopics()));
    const known = topics.filter((t) => existing.has(t));
    if (known.length === 0) return out;
    const listed = await this.within(admin.listOffsets({ topics: known.map((name) => ({ name, partitions: [{ partitionIndex: 0, timestamp: -1n }] })) }));
    for (const t of listed) {
      const p0 = t.partitions.find((p) => p.partitionIndex === 0);
      if (p0) out.set(t.name, p0.offset.toString());
    }
    return out;
  }

  async close(): Promise<void> {
    await this.admin?.close().catch(() => undefined);
    this.admin = undefined;
  }

  private client(): Admin {
    this.base ??= baseOptions(this.config, { clientId: this.clientId });
    this.admin ??= new Admin({ ...this.base, retries: 3, retryDelay: backoff(200, 1000) });
    return this.admin;
  }

  /** `promise`, classified, or KafkaUnavailableError when no answer came in time. */
  private async within<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KafkaUnavailableError(`no broker of ${this.config.brokers.join(', ')} answered within ${ANSWER_WITHIN_MS / 1000} s`)), ANSWER_WITHIN_MS);
    });
    try {
      return await Promise.race([promise.catch(rethrowFor(this.base ?? {})), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
