import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig } from 'kafkajs';
import type { KafkaConfig } from '../../config/schema.js';
import type { Logger } from '../../ops/logger.js';
import './kafkajs-patches.js';
import { kafkajsSecurity } from './security.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client for the given brokers, logging through pino (component=kafka). */
export function createKafka(config: KafkaConfig, options: { brokers?: string[]; clientId: string; log: Logger }): Kafka {
  const log = options.log.child({ component: 'kafka' });
  const settings: KafkaJsConfig = {
    clientId: options.clientId,
    brokers: options.brokers ?? config.brokers,
    ...kafkajsSecurity(config),
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    // kafkajs logs every retried broker answer (e.g. CONCURRENT_TRANSACTIONS) as a warning; only errors matter.
    logLevel: logLevel.ERROR,
    logCreator: () => (entry) => {
      const { message, ...extra } = entry.log;
      // Broker errors are retried by kafkajs and by our supervisor: report them as warnings.
      const level = entry.level === logLevel.ERROR ? 'warn' : (LEVELS[entry.level] ?? 'info');
      log[level]({ namespace: entry.namespace, ...pick(extra) }, message);
    },
  };
  return new Kafka(settings);
}

/** kafkajs log fields worth keeping (never message payloads). */
function pick(extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['broker', 'clientId', 'groupId', 'topic', 'partition', 'error', 'retryCount', 'retryTime']) if (k in extra) out[k] = extra[k];
  return out;
}
