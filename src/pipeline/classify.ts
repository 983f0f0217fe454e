/**
 * Any thrown value as a DrcError, the only thing the supervisor decides on. Errors from DRC itself
 * and from its Kafka adapters already are DrcErrors (transport/kafka/kafka-errors.ts wraps kafkajs'
 * errors where they leave the adapters); MySQL/MariaDB driver errors are mapped here by errno
 * (db/mysql-errors.ts); anything else is unexpected: retried, and paused if it persists.
 */
import { classifyMysqlError, redactDriverMessage } from '../db/mysql-errors.js';
import { DrcError, UnexpectedError, withContext, type ErrorContext } from '../errors.js';

/** The catalogue's error for `err`, with `context` added where the error does not say it already. */
export function classifyError(err: unknown, context: ErrorContext = {}): DrcError {
  if (err instanceof DrcError) return withContext(err, context);
  const driver = classifyMysqlError(err, context);
  if (driver) return driver;
  const message = err instanceof Error ? err.message : String(err);
  return new UnexpectedError(redactDriverMessage(message), { cause: err, context });
}
