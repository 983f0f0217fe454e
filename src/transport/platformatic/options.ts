/**
 * Connection settings of every @platformatic/kafka client DRC creates, from the `kafka` config
 * slice: brokers, client id, TLS (`kafka.ssl`) and SASL (`kafka.sasl`), mapped as the kafkajs
 * adapter maps them (transport/kafka/security.ts).
 */
import { SASLMechanisms, type BaseOptions } from '@platformatic/kafka';
import type { KafkaConfig } from '../../config/schema.js';
import { kafkaTlsFiles, readSecretFile } from '../../config/security.js';
import { registerTlsSource } from '../tls-failure.js';
import { isAuthOrTls } from './errors.js';

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
  // Errors of the clients made from these options name the TLS files (errors.ts toDrcError).
  return registerTlsSource(settings, { ssl: config.ssl, brokers: settings.bootstrapBrokers as string[] });
}

/** Retry delay: exponential from `initialMs` up to `maxMs`, with jitter (attempt counts from 1). */
export function backoff(initialMs: number, maxMs: number): RetryDelay {
  return (_client, _operationId, attempt) => {
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 20));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  };
}

/** The library's retry delay callback (it hands over the failed attempt's error). */
export type RetryDelay = (client: unknown, operationId: string, attempt: number, retries?: number, error?: unknown) => number;

/** When a client that retries without limit stops retrying an authentication or TLS failure. */
export const AUTH_GIVE_UP = { failures: 5, windowMs: 10_000 };

/**
 * `delay`, for a client that retries without limit (the producers: a broker outage must stall, not
 * fail), except for authentication and TLS failures: the library wraps them in a retryable NetworkError
 * and would retry them for ever, a stall that looks like an outage (a rotated SCRAM password, a
 * replaced CA). After `failures` of them in a row spanning at least `windowMs`, `giveUp` gets the last
 * one: the caller closes the client, which ends the operation under way, and throws it instead.
 */
export function authBoundedDelay(delay: RetryDelay, giveUp: (err: unknown, failures: number, forMs: number) => void, limits = AUTH_GIVE_UP, now = Date.now): RetryDelay {
  let failures = 0;
  let since = 0;
  return (client, operationId, attempt, retries, error) => {
    if (isAuthOrTls(error)) {
      if (failures++ === 0) since = now();
      const forMs = now() - since;
      if (failures >= limits.failures && forMs >= limits.windowMs) giveUp(error, failures, forMs);
    } else {
      failures = 0;
    }
    return delay(client, operationId, attempt, retries, error);
  };
}
