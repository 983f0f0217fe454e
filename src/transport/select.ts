/**
 * The one place that picks a Kafka client library (`kafka.client`): the daemon and the CLI ask here
 * for the transport and the inspector, and never name a library. Only the chosen library is loaded
 * (@platformatic/kafka compiles its option validators at import, seconds on a loaded machine).
 */
import type { KafkaConfig } from '../config/schema.js';
import type { BrokerInspector, KafkaTransport } from '../model/ports.js';
import type { Logger } from '../ops/logger.js';

/** The transport for one cluster (`brokers`: an ezone's own cluster; default `kafka.brokers`). */
export async function createTransport(config: KafkaConfig, options: { brokers?: string[]; clientId: string; log: Logger }): Promise<KafkaTransport> {
  if (config.client === 'kafkajs') return new (await import('./kafka/transport.js')).KafkajsTransport(config, options);
  return new (await import('./platformatic/transport.js')).PlatformaticTransport(config, options);
}

/** The admin tools' view of the cluster. */
export async function createBrokerInspector(config: KafkaConfig, clientId: string, log: Logger): Promise<BrokerInspector> {
  if (config.client === 'kafkajs') return new (await import('./kafka/inspector.js')).KafkaBrokerInspector(config, clientId, log);
  return new (await import('./platformatic/inspector.js')).PlatformaticBrokerInspector(config, clientId);
}
