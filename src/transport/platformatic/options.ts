/**
 * Connection settings of every @platformatic/kafka client DRC creates, from the `kafka` config
 * slice: brokers, client id, TLS (`kafka.ssl`) and SASL (`kafka.sasl`), mapped as the kafkajs
 * adapter maps them (transport/kafka/client.ts).
 */
import { SASLMechanisms, type BaseOptions } from '@platformatic/kafka';
import type { KafkaConfig } from '../../config/schema.js';

const MECHANISMS = {
  plain: SASLMechanisms.PLAIN,
  'scram-sha-256': SASLMechanisms.SCRAM_SHA_256,
  'scram-sha-512': SASLMechanisms.SCRAM_SHA_512,
} as const;

/** Base options for one client: `retries` and `retryDelay` are chosen per client by its user. */
export function baseOptions(config: KafkaConfig, options: { brokers?: string[]; clientId: string }): BaseOptions {
  const settings: BaseOptions = {
    clientId: options.clientId,
    bootstrapBrokers: options.brokers ?? config.brokers,
    connectTimeout: 5000,
    requestTimeout: 30_000,
    // Metadata (leaders) is refreshed when an answer says it is stale; a periodic refresh is cheap.
    metadataMaxAge: 30_000,
    autocreateTopics: false,
  };
  // TLS with the system's trusted CAs, verifying the broker's name (as kafkajs' `ssl: true`).
  if (config.ssl) settings.tls = {};
  if (config.sasl) settings.sasl = { mechanism: MECHANISMS[config.sasl.mechanism], username: config.sasl.username, password: config.sasl.password };
  return settings;
}

/** Retry delay: exponential from `initialMs` up to `maxMs`, with jitter (attempt counts from 1). */
export function backoff(initialMs: number, maxMs: number): (client: unknown, operationId: string, attempt: number) => number {
  return (_client, _operationId, attempt) => {
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 20));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  };
}
