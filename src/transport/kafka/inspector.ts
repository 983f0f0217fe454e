/**
 * The BrokerInspector port (model/ports.ts) over a kafkajs admin client: the admin tools' only view of
 * Kafka. It connects on first use, so a tool that never asks opens no connection.
 */
import type { Admin } from 'kafkajs';
import type { KafkaConfig } from '../../config/schema.js';
import type { BrokerInspector } from '../../model/ports.js';
import type { Logger } from '../../ops/logger.js';
import { createKafka } from './client.js';

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
      } catch {
        // The topic does not exist yet (no daemon has run): nothing to report for it.
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }

  private async connect(): Promise<Admin> {
    this.admin ??= createKafka(this.config, { clientId: this.clientId, log: this.log }).admin();
    this.connected ??= this.admin.connect();
    await this.connected;
    return this.admin;
  }
}
