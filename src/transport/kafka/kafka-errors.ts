/**
 * kafkajs errors → the catalogue (errors.ts). Every error a Kafka adapter lets out goes through
 * `toDrcError`, so the stages and the supervisor only ever see DrcErrors from the transport: whether
 * retrying helps is decided here, once, from kafkajs' own `retriable` flag and protocol error types.
 */
import type { DrcError} from '../../errors.js';
import { FencedError, KafkaRejectedError, KafkaUnavailableError } from '../../errors.js';
import { FENCING_ANSWERS } from '../fencing.js';
import { kafkaTlsError, tlsSourceOf, type KafkaTlsSource } from '../tls-failure.js';

/** kafkajs errors that say the cluster is (for now) out of reach, whatever their `retriable` flag. */
const UNAVAILABLE_NAMES = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
]);

interface KafkaJsErrorShape extends Error {
  retriable?: boolean;
  type?: string;
  cause?: unknown;
  broker?: string;
}

function isKafkaJsError(err: unknown): err is KafkaJsErrorShape {
  return err instanceof Error && err.name.startsWith('KafkaJS');
}

/** The error and its causes, outermost first (kafkajs nests the last attempt's error as `cause`). */
function chain(err: KafkaJsErrorShape): KafkaJsErrorShape[] {
  const out: KafkaJsErrorShape[] = [];
  for (let e: unknown = err; e instanceof Error && out.length < 8; e = (e as KafkaJsErrorShape).cause) out.push(e as KafkaJsErrorShape);
  return out;
}

/** True when a broker answer says this producer was fenced by a newer one of the same identity. */
export function isFencing(err: unknown): boolean {
  return isKafkaJsError(err) && chain(err).some((e) => e.type !== undefined && FENCING_ANSWERS.has(e.type));
}

/**
 * What a kafkajs error wraps when it is not kafkajs' own: the consumer retries a failing handler and
 * then throws KafkaJSNumberOfRetriesExceeded with the handler's error as its cause.
 */
function foreignCause(err: KafkaJsErrorShape): unknown {
  return chain(err).find((e) => !isKafkaJsError(e));
}

/**
 * The catalogue's error for a kafkajs error (undefined for anything else, or for a wrapped handler error).
 * `tls`: the cluster's TLS settings, to name the CA file when a handshake failed.
 */
export function classifyKafkaError(err: unknown, tls?: KafkaTlsSource): DrcError | undefined {
  if (!isKafkaJsError(err) || foreignCause(err) !== undefined) return undefined;
  if (isFencing(err)) return new FencedError(err);
  // kafkajs retries an untrusted certificate as a lost connection (retriable): it is no outage.
  const untrusted = kafkaTlsError(chain(err), tls, err);
  if (untrusted) return untrusted;
  const type = chain(err).find((e) => e.type !== undefined)?.type;
  const context = { ...(type ? { kafkaError: type } : {}), ...(err.broker ? { broker: err.broker } : {}) };
  const message = `Kafka: ${err.message}`;
  if (err.retriable !== false || chain(err).some((e) => UNAVAILABLE_NAMES.has(e.name))) return new KafkaUnavailableError(message, { cause: err, context });
  return new KafkaRejectedError(message, { cause: err, context });
}

/**
 * What an adapter throws: a kafkajs error as its DrcError, a handler's own error unwrapped, anything else
 * unchanged. `client`: the Kafka client it came from (its TLS settings name the files in a TLS failure).
 */
export function toDrcError(err: unknown, client?: object): unknown {
  if (isKafkaJsError(err)) return foreignCause(err) ?? classifyKafkaError(err, tlsSourceOf(client));
  return err;
}

/** `promise.catch(rethrowKafka)`: rethrow with the kafkajs error classified. */
export function rethrowKafka(err: unknown): never {
  throw toDrcError(err);
}

/** `promise.catch(rethrowFor(kafka))`: rethrow classified, naming `client`'s TLS files in a TLS failure. */
export function rethrowFor(client: object): (err: unknown) => never {
  return (err) => {
    throw toDrcError(err, client);
  };
}
