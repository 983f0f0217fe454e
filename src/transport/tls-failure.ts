/**
 * A failed TLS handshake with a Kafka broker as one line naming the broker, the config key and the
 * file, for both client adapters (the MySQL side's twin is db/tls.ts `tlsFailureHint`). Both libraries
 * retry a failed connection as if the network were down, and report Node's reason alone ("self-signed
 * certificate in certificate chain"): an operator must learn which broker, which key and which file.
 * Decided by Node's error code, never by message text.
 */
import type { KafkaSslConfig } from '../config/security.js';
import { KafkaTlsError } from '../errors.js';

/** What an adapter knows of a cluster's TLS settings when it classifies an error: the config, as written. */
export interface KafkaTlsSource {
  ssl: KafkaSslConfig;
  brokers: readonly string[];
}

/** Node's TLS and certificate-verification error codes (tls.connect, OpenSSL). */
export const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_OSSL_|HOSTNAME_MISMATCH)/;
/** The certificate does not chain to a trusted CA. */
const UNTRUSTED = /^(CERT_|UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT)/;
/** The certificate does not name the host connected to. */
const NAME = /^(ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)$/;

export interface TlsFailure {
  /** Node's code, e.g. SELF_SIGNED_CERT_IN_CHAIN. */
  code: string;
  /** Node's message. */
  reason: string;
  /** host:port, when an error of the chain names it (kafkajs does). */
  broker?: string;
}

interface Coded {
  code?: unknown;
  message?: unknown;
  broker?: unknown;
}

/** The TLS failure among `errors` (an error and its causes, as the adapter flattens them), if any. */
export function tlsFailureIn(errors: readonly unknown[]): TlsFailure | undefined {
  const failed = errors.find((e) => typeof (e as Coded)?.code === 'string' && TLS_CODE.test((e as Coded).code as string)) as Coded | undefined;
  if (!failed) return undefined;
  const broker = errors.map((e) => (e as Coded)?.broker).find((b): b is string => typeof b === 'string');
  const code = failed.code as string;
  return { code, reason: typeof failed.message === 'string' && failed.message ? failed.message : code, ...(broker ? { broker } : {}) };
}

/** One line: which broker, what failed, against which setting and file, and the fix. */
export function kafkaTlsMessage(failure: TlsFailure, source: KafkaTlsSource | undefined): string {
  const where = failure.broker ? `Kafka broker ${failure.broker}` : source ? `the Kafka broker(s) ${source.brokers.join(', ')}` : 'the Kafka broker';
  const ssl = source && typeof source.ssl === 'object' ? source.ssl : undefined;
  if (NAME.test(failure.code)) {
    return `the TLS certificate of ${where} does not name that host (${failure.reason}) — list the brokers by a name or IP their certificates carry, or set kafka.ssl.servername`;
  }
  if (UNTRUSTED.test(failure.code)) {
    const against = ssl?.ca ? `the CA in ${ssl.ca} (kafka.ssl.ca)` : source ? 'the system CAs (kafka.ssl.ca is not set)' : 'the CA of kafka.ssl.ca';
    return `the TLS certificate of ${where} is not trusted: ${failure.reason} — it is not signed by ${against}; set kafka.ssl.ca to the CA that signed the brokers' certificates`;
  }
  return `TLS handshake with ${where} failed: ${failure.reason} — check kafka.ssl (ca, cert, key, servername) against the broker's SSL listener`;
}

/** The catalogue's error for a TLS failure found in `errors`, or undefined. */
export function kafkaTlsError(errors: readonly unknown[], source: KafkaTlsSource | undefined, cause: unknown): KafkaTlsError | undefined {
  const failure = tlsFailureIn(errors);
  if (!failure) return undefined;
  return new KafkaTlsError(kafkaTlsMessage(failure, source), { cause, context: { tlsError: failure.code, ...(failure.broker ? { broker: failure.broker } : {}) } });
}

/** The TLS settings behind each client object an adapter creates (a kafkajs Kafka, a platformatic options object). */
const sources = new WeakMap<object, KafkaTlsSource>();

/** Remember which settings `owner` (a client, or the options every client is made from) connects with. */
export function registerTlsSource<T extends object>(owner: T, source: KafkaTlsSource): T {
  sources.set(owner, source);
  return owner;
}

/** The settings registered for `owner`, if any. */
export function tlsSourceOf(owner: object | undefined): KafkaTlsSource | undefined {
  return owner ? sources.get(owner) : undefined;
}
