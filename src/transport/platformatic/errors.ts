/**
 * @platformatic/kafka errors → the catalogue (errors.ts), as transport/kafka/kafka-errors.ts does for
 * kafkajs. The library's errors carry a `code` (PLT_KFK_*), broker answers an `apiId` (the protocol
 * error name) and every error says whether retrying helps (`canRetry`); a run of retries ends in a
 * MultipleErrors holding each attempt's error. Decided here once, by those fields, never by text.
 */
import { DrcError, FencedError, KafkaRejectedError, KafkaUnavailableError } from '../../errors.js';
import { FENCING_ANSWERS } from '../fencing.js';
import { kafkaTlsError, TLS_CODE, tlsSourceOf, type KafkaTlsSource } from '../tls-failure.js';

interface PlatformaticError extends Error {
  code?: string;
  apiId?: string;
  canRetry?: boolean;
  errors?: unknown[];
}

function isPlatformatic(err: unknown): err is PlatformaticError {
  return err instanceof Error && typeof (err as PlatformaticError).code === 'string' && (err as PlatformaticError).code!.startsWith('PLT_KFK_');
}

/** The error, the errors it aggregates and their causes, depth first (bounded). */
function flatten(err: unknown, out: unknown[] = [], depth = 0): unknown[] {
  if (!(err instanceof Error) || depth > 6 || out.length > 64) return out;
  out.push(err);
  for (const e of (err as PlatformaticError).errors ?? []) flatten(e, out, depth + 1);
  if (err.cause) flatten(err.cause, out, depth + 1);
  return out;
}

/**
 * True when the chain holds an authentication failure (SASL refused, the library's AuthenticationError)
 * or a TLS/certificate failure. The library wraps these in a retryable NetworkError and would retry them
 * for ever, silently: a rotated password or an untrusted CA must stop and say why instead.
 */
export function isAuthOrTls(err: unknown): boolean {
  const all = flatten(err) as PlatformaticError[];
  return all.some((e) => e.code === 'PLT_KFK_AUTHENTICATION' || e.apiId === 'SASL_AUTHENTICATION_FAILED' || e.apiId === 'ILLEGAL_SASL_STATE' || e.apiId === 'UNSUPPORTED_SASL_MECHANISM' || (typeof e.code === 'string' && TLS_CODE.test(e.code)));
}

/** True when a broker answer in the chain says this producer was fenced by a newer one. */
export function isFencing(err: unknown): boolean {
  return isPlatformatic(err) && flatten(err).some((e) => FENCING_ANSWERS.has((e as PlatformaticError).apiId ?? ''));
}

/**
 * The catalogue's error for a platformatic error (undefined for anything else). `tls`: the cluster's
 * TLS settings, to name the CA file when a handshake failed.
 */
export function classifyPlatformaticError(err: unknown, tls?: KafkaTlsSource): DrcError | undefined {
  if (!isPlatformatic(err)) return undefined;
  if (isFencing(err)) return new FencedError(err);
  const all = flatten(err) as PlatformaticError[];
  const untrusted = kafkaTlsError(all, tls, err);
  if (untrusted) return untrusted;
  // The last attempt's broker answer names the failure best.
  const answer = [...all].reverse().find((e) => e.apiId !== undefined)?.apiId;
  const context = answer ? { kafkaError: answer } : {};
  // The innermost cause says what went wrong ("Connection to h:p failed." alone does not).
  const inner = all.at(-1);
  const message = inner && inner !== err && inner.message && inner.message !== err.message ? `Kafka: ${err.message} (${inner.message})` : `Kafka: ${err.message}`;
  if (isAuthOrTls(err)) return new KafkaRejectedError(message, { cause: err, context });
  // Unreachable brokers and timeouts (PLT_KFK_NETWORK) are transient whatever their flag; else the flags decide.
  const retryable = all.some((e) => e.code === 'PLT_KFK_NETWORK') || all.every((e) => !isPlatformatic(e) || e.canRetry !== false);
  if (retryable) return new KafkaUnavailableError(message, { cause: err, context });
  return new KafkaRejectedError(message, { cause: err, context });
}

/**
 * What an adapter throws: a platformatic error as its DrcError, anything else unchanged. `base`: the
 * options the client was made from (options.ts registers their TLS settings, named in a TLS failure).
 */
export function toDrcError(err: unknown, base?: object): unknown {
  if (err instanceof DrcError) return err;
  return classifyPlatformaticError(err, tlsSourceOf(base)) ?? err;
}

/** `promise.catch(rethrow)`: rethrow with the platformatic error classified. */
export function rethrow(err: unknown): never {
  throw toDrcError(err);
}

/** `promise.catch(rethrowFor(base))`: rethrow classified, naming the TLS files of `base` in a TLS failure. */
export function rethrowFor(base: object): (err: unknown) => never {
  return (err) => {
    throw toDrcError(err, base);
  };
}
