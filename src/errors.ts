/**
 * One error hierarchy with stable codes (undici lib/core/errors.js): a class per failure, its `code`
 * constant, `cause` kept, context attached (table, position, origin, offset; never row values or
 * passwords). Whether retrying can help is a property of the error (`retryable`, `fatal`): the
 * supervisor decides by class and code, never by message text.
 *
 * This module imports nothing: every layer (model included) may throw these. Driver errors are mapped
 * to these classes in db/mysql-errors.ts (MySQL/MariaDB) and transport/kafka/kafka-errors.ts (Kafka);
 * the CLI maps classes to exit codes in cli/exit-codes.ts.
 */

/** Every code DRC reports, in one place: logs, metrics and tools match on these, never on text. */
export const ErrorCode = {
  unexpected: 'DRC_UNEXPECTED',
  // command line and set-up
  configInvalid: 'DRC_CONFIG_INVALID',
  usage: 'DRC_USAGE',
  checkFailed: 'DRC_CHECK_FAILED',
  unreachable: 'DRC_UNREACHABLE',
  prerequisiteMissing: 'DRC_PREREQUISITE_MISSING',
  sandboxFailed: 'DRC_SANDBOX_FAILED',
  // capture
  capturePreflight: 'DRC_CAPTURE_PREFLIGHT',
  noPrimaryKey: 'DRC_NO_PRIMARY_KEY',
  rowMetadata: 'DRC_ROW_METADATA',
  markerNotFirst: 'DRC_MARKER_NOT_FIRST',
  binlogSequence: 'DRC_BINLOG_SEQUENCE',
  captureBehind: 'DRC_CAPTURE_BEHIND',
  binlogEventUnsupported: 'DRC_BINLOG_EVENT_UNSUPPORTED',
  binlogPositionGone: 'DRC_BINLOG_POSITION_GONE',
  // wire format and apply
  envelopeInvalid: 'DRC_ENVELOPE_INVALID',
  schemaMismatch: 'DRC_SCHEMA_MISMATCH',
  applyRetry: 'DRC_APPLY_RETRY',
  applyStale: 'DRC_APPLY_STALE',
  applySequence: 'DRC_APPLY_SEQUENCE',
  // high availability
  notLeader: 'DRC_NOT_LEADER',
  fenced: 'DRC_FENCED',
  // Kafka
  kafkaUnavailable: 'DRC_KAFKA_UNAVAILABLE',
  kafkaRejected: 'DRC_KAFKA_REJECTED',
  kafkaTls: 'DRC_KAFKA_TLS',
  kafkaTransactionTimedOut: 'DRC_KAFKA_TRANSACTION_TIMED_OUT',
  notConnected: 'DRC_NOT_CONNECTED',
  batchOpen: 'DRC_BATCH_OPEN',
  topicMissing: 'DRC_TOPIC_MISSING',
  tailTimeout: 'DRC_TAIL_TIMEOUT',
  // MySQL / MariaDB (db/mysql-errors.ts maps errno values to these)
  dbConnection: 'DRC_DB_CONNECTION',
  deadlock: 'DRC_DEADLOCK',
  lockWaitTimeout: 'DRC_LOCK_WAIT_TIMEOUT',
  duplicateKey: 'DRC_DUPLICATE_KEY',
  valueRejected: 'DRC_VALUE_REJECTED',
  noSuchTable: 'DRC_NO_SUCH_TABLE',
  noSuchColumn: 'DRC_NO_SUCH_COLUMN',
  accessDenied: 'DRC_ACCESS_DENIED',
  database: 'DRC_DATABASE_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Where a failure happened: attached to errors and logged with them (never row values or passwords). */
export interface ErrorContext {
  table?: string;
  position?: string;
  origin?: string;
  offset?: string;
  [key: string]: string | number | undefined;
}

export interface DrcErrorOptions {
  cause?: unknown;
  /** Worth retrying as is (a transient failure: connection lost, deadlock, broker unavailable). */
  retryable?: boolean;
  /** Retrying cannot help and the stream must stop (fenced, replaced, server misconfigured). */
  fatal?: boolean;
  context?: ErrorContext;
}

/**
 * The base of every DRC error. Neither retryable nor fatal is *deterministic*: the same input fails
 * the same way (a value the target rejects) — the supervisor retries slowly and pauses the stream.
 */
export class DrcError extends Error {
  /** Stable, machine-readable code, e.g. `DRC_CONFIG_INVALID`. */
  readonly code: ErrorCode;
  /** Transient: the same work may succeed when retried. */
  readonly retryable: boolean;
  /** The stream cannot go on (the supervisor stops it instead of retrying). */
  readonly fatal: boolean;
  /** Where it happened; stages add what they know with `withContext`. */
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, options: DrcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.fatal = options.fatal ?? false;
    this.context = { ...options.context };
  }
}

/**
 * Attach what the catching stage knows (table, position, origin) without overwriting what the error
 * already says; returns the same error, for `throw withContext(err, { table })`.
 */
export function withContext<E extends DrcError>(err: E, context: ErrorContext): E {
  for (const [k, v] of Object.entries(context)) if (v !== undefined && err.context[k] === undefined) err.context[k] = v;
  return err;
}

/** What the catalogue's simple classes take besides the message (a driver's errno travels in the context). */
export interface DriverErrorOptions {
  cause?: unknown;
  context?: ErrorContext;
}

/** A family of errors with one fixed code and fixed flags: `class X extends errorClass(code, { retryable: true }) {}`. */
function errorClass(code: ErrorCode, flags: { retryable?: boolean; fatal?: boolean } = {}) {
  return class extends DrcError {
    constructor(message: string, options: DriverErrorOptions = {}) {
      super(code, message, { ...options, ...flags });
    }
  };
}

/** Something no class describes (a bug, or a library's own error): retried, and paused if it persists. */
export class UnexpectedError extends errorClass(ErrorCode.unexpected, { retryable: true }) {}

// ─── command line and set-up ──────────────────────────────────────────────────────────────────────

/** The config file is missing, unparsable or does not match the schema. */
export class ConfigError extends DrcError {
  /** One entry per problem: the dotted key path and what to do about it. */
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[], options: { cause?: unknown } = {}) {
    const lines = problems.map((p) => `  - ${p.path || '(top level)'}: ${p.message}`);
    super(ErrorCode.configInvalid, `invalid config ${file}:\n${lines.join('\n')}`, { ...options, fatal: true });
    this.problems = problems;
  }
}

export interface ConfigProblem {
  /** Dotted key path, e.g. `ezones.a.mysql.port`. */
  path: string;
  /** What is wrong and how to fix it, in one line. */
  message: string;
}

/** Bad command-line usage (unknown ezone, conflicting flags). */
export class UsageError extends errorClass(ErrorCode.usage, { fatal: true }) {}

/** A check the user asked for found problems (already reported on stdout). */
export class CheckFailedError extends errorClass(ErrorCode.checkFailed) {}

/** A server (an ezone's database or Kafka) an admin tool needed did not answer: never "differences found". */
export class UnreachableError extends errorClass(ErrorCode.unreachable, { retryable: true }) {}

/** A prerequisite (MariaDB server, Java, Maven) is missing and cannot be installed here. */
export class PrerequisiteError extends errorClass(ErrorCode.prerequisiteMissing) {}

/** A local sandbox server failed to start or stop. */
export class SandboxError extends errorClass(ErrorCode.sandboxFailed) {}

// ─── capture ──────────────────────────────────────────────────────────────────────────────────────

/** The local server would lose or misread changes (binlog settings, tables without a primary key). */
export class CapturePreflightError extends DrcError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.capturePreflight, message, { fatal: true, context });
  }
}

/** A replicated table has no primary key: DRC refuses it (DESIGN.md section 5). */
export class NoPrimaryKeyError extends DrcError {
  constructor(readonly table: string) {
    super(ErrorCode.noPrimaryKey, `table ${table} has no primary key: DRC cannot replicate it — add a primary key, or exclude it with replicate.exclude`, {
      fatal: true,
      context: { table },
    });
  }
}

/** The binlog lacks column metadata (binlog_row_metadata is not FULL): rows cannot be decoded safely. */
export class RowMetadataError extends DrcError {
  constructor(table: string) {
    super(ErrorCode.rowMetadata, `table map of ${table} carries no column metadata: set binlog_row_metadata=FULL on the server`, { fatal: true, context: { table } });
  }
}

/** A local transaction wrote DRC's marker after other rows: something other than the applier writes it. */
export class MarkerNotFirstError extends DrcError {
  constructor(txId: string) {
    super(ErrorCode.markerNotFirst, `transaction ${txId} wrote DRC's marker after other rows; only the applier writes drc_meta.tx_origin`, { fatal: true, context: { transaction: txId } });
  }
}

/** The binlog stream delivered events out of order (a row event without its table map): read again. */
export class BinlogSequenceError extends DrcError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.binlogSequence, message, { retryable: true, context });
  }
}

/**
 * The binlog holds an event capture cannot decode and must not pass over (MySQL 8 compressed
 * transactions, partial JSON updates, an unknown type): deterministic, so the supervisor retries
 * slowly and pauses the stream there — nothing after it is shipped, nothing is lost.
 */
export class UnsupportedBinlogEventError extends DrcError {
  constructor(refusal: { typeCode: number; event: string; setting?: string; fix: string }, eventEnd: string) {
    super(
      ErrorCode.binlogEventUnsupported,
      `the binlog holds a ${refusal.event} (type ${refusal.typeCode}${refusal.setting ? `, written under ${refusal.setting}` : ''}) ending at ${eventEnd}: capture stops before it rather than skip its row changes — ${refusal.fix}`,
      { context: { event: refusal.event, typeCode: refusal.typeCode, eventEnd, ...(refusal.setting ? { setting: refusal.setting } : {}) } },
    );
  }
}

/**
 * The server's binlog no longer holds where capture must start (purged by binlog_expire_logs_seconds
 * while DRC was down, or a server rebuilt): the local writes since cannot be read. Deterministic —
 * the stream pauses and says so, it never starts elsewhere by itself; `wayOut` is the operator's.
 */
export class BinlogPositionGoneError extends DrcError {
  constructor(position: string, wayOut: string, cause: unknown) {
    super(
      ErrorCode.binlogPositionGone,
      `the binlog of this server no longer holds capture's start ${position} (purged, or the server was rebuilt): the local writes since cannot be read, and capture does not skip them by itself — ${wayOut}`,
      { cause, context: { position } },
    );
  }
}

/** Capture has not yet recorded the local tombstones up to a position the applier waits for. */
export class CaptureBehindError extends DrcError {
  constructor(position: string, timeoutMs: number) {
    super(ErrorCode.captureBehind, `capture has not reached local position ${position} within ${timeoutMs} ms`, { retryable: true, context: { position } });
  }
}

// ─── wire format and apply ────────────────────────────────────────────────────────────────────────

/** Why a message could not be decoded: a stable code and a human reason (never row values). */
export class EnvelopeError extends DrcError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.envelopeInvalid, message, { context });
  }
}

/** The target database does not (yet) match the incoming change: the stream pauses until it does. */
export class SchemaMismatchError extends DrcError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.schemaMismatch, message, { context });
  }
}

/** Worth trying again in place (deadlock, a row that appeared concurrently). */
export class RetryableApplyError extends DrcError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.applyRetry, message, { cause, retryable: true });
  }
}

/** A group outlived a recovery (its stream restarted meanwhile): dropped, the restart applies it again. */
export class ApplyStaleError extends errorClass(ErrorCode.applyStale, { retryable: true }) {}
/** A chunk of a big transaction arrived without its start: the stream restarts at the applied position. */
export class ApplySequenceError extends errorClass(ErrorCode.applySequence, { retryable: true }) {}

// ─── high availability ────────────────────────────────────────────────────────────────────────────

/** Another daemon is now active for this ezone: this one was replaced (a zombie) and stops. */
export class NotLeaderError extends DrcError {
  constructor(ezone: string) {
    super(ErrorCode.notLeader, `another daemon is now active for ezone ${ezone}: this one was replaced (a zombie) and stops`, { fatal: true, context: { ezone } });
  }
}

/** Another daemon of the same ezone took over the Kafka producer: this one must stop writing. */
export class FencedError extends DrcError {
  constructor(cause: unknown) {
    super(ErrorCode.fenced, 'another daemon of this ezone took over the Kafka producer (this one is a zombie): stopping', { cause, fatal: true });
  }
}

// ─── Kafka (transport/kafka/kafka-errors.ts maps kafkajs errors to these) ─────────────────────────

/** The brokers cannot be reached or answered with a retriable error. */
export class KafkaUnavailableError extends errorClass(ErrorCode.kafkaUnavailable, { retryable: true }) {}
/** The brokers refused the request for good (message too large, not authorised, unknown topic). */
export class KafkaRejectedError extends errorClass(ErrorCode.kafkaRejected) {}

/**
 * The TLS handshake with a broker failed (an untrusted certificate, a name mismatch): a configuration
 * problem that waiting does not fix. Its message names the broker, the config key and, where the
 * adapter knows it, the file (transport/tls-failure.ts).
 */
export class KafkaTlsError extends errorClass(ErrorCode.kafkaTls) {}

/**
 * The broker aborted the open transaction because it stayed open past the transaction timeout (an
 * outage or a stall longer than it) and bumped the producer's epoch; Kafka answers it with the same
 * PRODUCER_FENCED / INVALID_PRODUCER_EPOCH as a takeover (transport/fencing.ts). Not a zombie: the stream
 * claims its producer again (after checking that it is still the active daemon) and resumes from the
 * last position committed to Kafka — nothing of the aborted transaction was visible.
 */
export class TransactionTimedOutError extends DrcError {
  constructor(openMs: number, timeoutMs: number, cause: unknown) {
    super(
      ErrorCode.kafkaTransactionTimedOut,
      `the Kafka transaction was open ${Math.round(openMs / 1000)} s, past its timeout of ${Math.round(timeoutMs / 1000)} s (kafka.transactionTimeout): the broker aborted it — claiming the producer again and resuming from the last committed position`,
      { cause, retryable: true, context: { openMs, timeoutMs } },
    );
  }
}

/** A Kafka client was used before connect() or after close(). A restart connects it again. */
export class NotConnectedError extends DrcError {
  constructor(what: string) {
    super(ErrorCode.notConnected, `${what} is not connected`, { retryable: true });
  }
}

/** A publish batch was begun while another one is still open (a restart starts afresh). */
export class BatchOpenError extends DrcError {
  constructor() {
    super(ErrorCode.batchOpen, 'a publish batch is already open', { retryable: true });
  }
}

/** A topic DRC needs does not exist (or lacks partition 0). */
export class TopicMissingError extends DrcError {
  constructor(topic: string) {
    super(ErrorCode.topicMissing, `topic ${topic} has no partition 0`, { context: { topic } });
  }
}

/** Reading the end of a topic took too long. */
export class TailTimeoutError extends DrcError {
  constructor(topic: string, timeoutMs: number) {
    super(ErrorCode.tailTimeout, `reading the end of ${topic} took over ${timeoutMs} ms`, { retryable: true, context: { topic } });
  }
}

// ─── MySQL / MariaDB (db/mysql-errors.ts maps errno values to these; messages arrive redacted) ────

/** The connection to the database was refused, lost or timed out. */
export class DbConnectionError extends errorClass(ErrorCode.dbConnection, { retryable: true }) {}
/** InnoDB chose this transaction as a deadlock victim (errno 1213): run it again. */
export class DeadlockError extends errorClass(ErrorCode.deadlock, { retryable: true }) {}
/** A row lock was not granted in time (errno 1205). */
export class LockWaitTimeoutError extends errorClass(ErrorCode.lockWaitTimeout, { retryable: true }) {}
/** A write collided with an existing primary or unique key (errno 1062, 1586). */
export class DuplicateKeyError extends errorClass(ErrorCode.duplicateKey) {}
/** The target refused a value (out of range, too long, bad date, NULL, foreign key, invalid JSON …). */
export class ValueRejectedError extends errorClass(ErrorCode.valueRejected) {}
/** A table (or database) the statement names does not exist (errno 1146, 1049). */
export class NoSuchTableError extends errorClass(ErrorCode.noSuchTable) {}
/** A column the statement names does not exist (errno 1054). */
export class NoSuchColumnError extends errorClass(ErrorCode.noSuchColumn) {}
/** The account lacks a password match or a privilege (errno 1045, 1142, 1227 …). */
export class AccessDeniedError extends errorClass(ErrorCode.accessDenied) {}
/** Any other error the server reported: deterministic until proven otherwise. */
export class DatabaseError extends errorClass(ErrorCode.database) {}
