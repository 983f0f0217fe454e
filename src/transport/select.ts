/**
 * The one place that picks a Kafka client library (`kafka.client`): the daemon and the CLI ask here
 * for the transport and the inspector, and never name a library.
 */
import type { KafkaConfig } from '../config/schema.js';
import type { BrokerInspector, KafkaTransport } from '../model/ports.js';
import type { Logger } from '../ops/logger.js';
import { KafkaBrokerInspector } from './kafka/inspector.js';
import { KafkajsTransport } from './kafka/transport.js';
import { PlatformaticBrokerInspector } from './platformatic/inspector.js';
import { PlatformaticTransport } from './platformatic/transport.js';

/** The transport for one cluster (`brokers`: an ezone's own cluster; default `kafka.brokers`). */
export function createTransport(config: KafkaConfig, options: { brokers?: string[]; clientId: string; log: Logger }): KafkaTransport {
  return config.client === 'kafkajs' ? new KafkajsTransport(config, options) : new PlatformaticTransport(config, options);
}

/** The admin tools' view of the cluster. */
export function createBrokerInspector(config: KafkaConfig, clientId: string, log: Logger): BrokerInspector {
  return config.client === 'kafkajs' ? new KafkaBrokerInspector(config, clientId, log) : new PlatformaticBrokerInspector(config, clientId);
}
