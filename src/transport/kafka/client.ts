import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig } from 'kafkajs';
import type { KafkaConfig } from '../../config/schema.js';
import type { Logger } from '../../ops/logger.js';
import './kafkajs-patches.js';
import { kafkajsSecurity } from './security.js';
import { registerTlsSource } from '../tls-failure.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client for the given brokers, logging through pino (component=kafka). */
export function createKafka(config: KafkaConfig, options: { brokers?: string[]; clientId: string; log: Logger; retry?: KafkaJsConfig['retry'] }): Kafka {
  const log = options.log.child({ component: 'kafka' });
  const settings: KafkaJsConfig = {
    clientId: options.clientId,
    brokers: options.brokers ?? config.brokers,
    ...kafkajsSecurity(config),
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    // `retry` also bounds connecting (a broker that does not answer, a handshake that fails): the admin tools pass fewer.
    retry: options.retry ?? { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    // kafkajs logs every retried broker answer (e.g. CONCURRENT_TRANSACTIONS) as a warning; only errors matter.
    logLevel: logLevel.ERROR,
    logCreator: () => (entry) => {
      const { message, ...extra } = entry.log;
      const level = entry.level === logLevel.ERROR ? errorLevel(extra) : (LEVELS[entry.level] ?? 'info');
      log[level]({ namespace: entry.namespace, ...pick(extra) }, message);
    },
  };
  return registerTlsSource(new Kafka(settings), { ssl: config.ssl, brokers: settings.brokers as string[] });
}

/**
 * The level of a kafkajs error entry. A broker's answer to one request (the entry carries the
 * request's `correlationId`) and an attempt that will be retried (`retryCount`) are retried by kafkajs
 * itself — CONCURRENT_TRANSACTIONS after every commit, say — and are only worth a debug line; what
 * fails for good reaches the caller as an error. Everything else (a lost connection) is a warning.
 */
export function errorLevel(extra: Record<string, unknown>): 'warn' | 'debug' {
  return 'correlationId' in extra || 'retryCount' in extra ? 'debug' : 'warn';
}

/** kafkajs log fields worth keeping (never message payloads). */
function pick(extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['broker', 'clientId', 'groupId', 'topic', 'partition', 'error', 'retryCount', 'retryTime']) if (k in extra) out[k] = extra[k];
  return out;
}
