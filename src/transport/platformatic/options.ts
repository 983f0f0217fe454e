/**
 * Connection settings of every @platformatic/kafka client DRC creates, from the `kafka` config
 * slice: brokers, client id, TLS (`kafka.ssl`) and SASL (`kafka.sasl`), mapped as the kafkajs
 * adapter maps them (transport/kafka/security.ts).
 */
import { SASLMechanisms, type BaseOptions } from '@platformatic/kafka';
import type { KafkaConfig } from '../../config/schema.js';
import { kafkaTlsFiles, readSecretFile } from '../../config/security.js';

const MECHANISMS = {
  plain: SASLMechanisms.PLAIN,
  'scram-sha-256': SASLMechanisms.SCRAM_SHA_256,
  'scram-sha-512': SASLMechanisms.SCRAM_SHA_512,
  oauthbearer: SASLMechanisms.OAUTHBEARER,
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
  // `ssl: true`: the system's trusted CAs, verifying the broker's name; the object form names the files.
  const ssl = config.ssl;
  if (ssl === true) settings.tls = {};
  else if (ssl && typeof ssl === 'object') settings.tls = kafkaTlsFiles(ssl);
  const sasl = config.sasl;
  if (sasl?.mechanism === 'oauthbearer') {
    // Re-read on every authentication, so a token agent can rotate the file underneath a running daemon.
    const file = sasl.tokenFile as string;
    settings.sasl = { mechanism: MECHANISMS.oauthbearer, token: () => readSecretFile(file) };
  } else if (sasl) {
    settings.sasl = { mechanism: MECHANISMS[sasl.mechanism], username: sasl.username ?? '', password: sasl.password ?? '' };
  }
  return settings;
}

/** Retry delay: exponential from `initialMs` up to `maxMs`, with jitter (attempt counts from 1). */
export function backoff(initialMs: number, maxMs: number): (client: unknown, operationId: string, attempt: number) => number {
  return (_client, _operationId, attempt) => {
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 20));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  };
}
