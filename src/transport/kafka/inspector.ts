/**
 * The BrokerInspector port (model/ports.ts) over a kafkajs admin client: the admin tools' only view of
 * Kafka. It connects on first use, so a tool that never asks opens no connection.
 */
import type { Admin } from 'kafkajs';
import type { KafkaConfig } from '../../config/schema.js';
import type { BrokerInspector } from '../../model/ports.js';
import type { Logger } from '../../ops/logger.js';
import { createKafka } from './client.js';
import { KafkaUnavailableError } from '../../errors.js';
import { toDrcError } from './kafka-errors.js';

/** Retries of one admin request: a few, quickly (about 2 s in all before a broker counts as down). */
const ADMIN_RETRY = { retries: 3, initialRetryTime: 200, maxRetryTime: 1000 };

/** The client's own connect retries take about 20 s against a closed port; a tool says so sooner. */
const CONNECT_WITHIN_MS = 8000;

/** admin.connect(), or an error once no broker answered in time (the client stops at close()). */
async function connectWithin(admin: Admin, ms: number, brokers: string[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KafkaUnavailableError(`no broker of ${brokers.join(', ')} answered within ${ms / 1000} s`)), ms);
  });
  try {
    await Promise.race([admin.connect(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether kafkajs failed because the topic does not exist (its error, or the one its retries gave up on). */
function unknownTopic(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}

export class KafkaBrokerInspector implements BrokerInspector {
  private admin: Admin | undefined;
  private connected: Promise<void> | undefined;

  constructor(
    private readonly config: KafkaConfig,
    private readonly clientId: string,
    private readonly log: Logger,
  ) {}

  async brokerCount(): Promise<number> {
    const admin = await this.connect();
    return (await admin.describeCluster()).brokers.length;
  }

  async endOffsets(topics: string[]): Promise<Map<string, string>> {
    const admin = await this.connect();
    const out = new Map<string, string>();
    for (const topic of topics) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        out.set(topic, offsets.find((o) => o.partition === 0)?.high ?? '0');
      } catch (err) {
        // The topic does not exist yet (no daemon has run): nothing to report for it. Any other
        // failure (not authorized, a timeout, no leader) is no "missing": it is the caller's to hear.
        if (!unknownTopic(err)) throw err;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }

  private async connect(): Promise<Admin> {
    // An operator waiting at a prompt wants "unreachable" in seconds, not after the daemon's long retries.
    if (!this.admin) {
      // The client's retries bound connecting too: the admin client's own only bound its requests.
      const kafka = createKafka(this.config, { clientId: this.clientId, log: this.log, retry: ADMIN_RETRY });
      const admin = kafka.admin({ retry: ADMIN_RETRY });
      this.admin = admin;
      this.connected = connectWithin(admin, CONNECT_WITHIN_MS, this.config.brokers).catch((err: unknown) => {
        throw toDrcError(err, kafka);
      });
    }
    await this.connected;
    return this.admin;
  }
}
