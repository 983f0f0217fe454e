/**
 * The one place that knows MySQL/MariaDB error numbers: errno → error class (errors.ts), and the
 * redaction of driver messages, which quote row values ("Duplicate entry 'alice@x' for key 'email'").
 * Stages decide with the predicates below or by class, never by matching errno or message text.
 */
import {
  AccessDeniedError,
  DatabaseError,
  DbConnectionError,
  DeadlockError,
  DrcError,
  DuplicateKeyError,
  LockWaitTimeoutError,
  NoSuchColumnError,
  NoSuchTableError,
  ValueRejectedError,
  type DriverErrorOptions,
  type ErrorContext,
} from '../errors.js';

/** Server error numbers, by what they mean for a stream. */
const ERRNO = {
  deadlock: [1213],
  lockWaitTimeout: [1205],
  duplicateKey: [1062, 1586, 1022],
  /** Values the target rejects: deterministic, the same row fails again. */
  valueRejected: [
    1048, // column cannot be null
    1263, // NULL supplied to NOT NULL column
    1264, // out of range value
    1265, // data truncated
    1292, // incorrect/truncated DATE, TIME, DOUBLE … value
    1366, // incorrect integer/string value for column
    1367, // illegal value
    1364, // field has no default value
    1406, // data too long
    1416, // cannot get geometry object
    1451, // cannot delete or update a parent row (foreign key)
    1452, // cannot add or update a child row (foreign key)
    1216, // foreign key: child row (old number)
    1217, // foreign key: parent row (old number)
    1690, // value out of range in an expression
    1906, // value given for a generated column
    3140, // invalid JSON text (MySQL)
    3819, // check constraint violated (MySQL)
    4025, // CONSTRAINT failed (MariaDB; its JSON columns are checked this way)
  ],
  noSuchTable: [1146, 1049],
  noSuchColumn: [1054],
  // 1419: creating a trigger or routine with the binlog on needs SUPER (or log_bin_trust_function_creators).
  accessDenied: [1044, 1045, 1142, 1143, 1227, 1370, 1419, 1698],
  /** The connection is gone or the server is going away: reconnect and retry. */
  connection: [1040, 1053, 1152, 1153, 1158, 1159, 1160, 1161, 1927, 2002, 2003, 2006, 2013, 2055, 4031],
} as const;

/** Node socket and mysql2 protocol codes of a lost or refused connection. */
const CONNECTION_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ER_SERVER_SHUTDOWN',
]);

type Family = keyof typeof ERRNO;
const FAMILY_OF = new Map<number, Family>(Object.entries(ERRNO).flatMap(([family, list]) => list.map((n) => [n, family as Family] as const)));

const CLASS_OF: Record<Family | 'other', new (message: string, options: DriverErrorOptions) => DrcError> = {
  deadlock: DeadlockError,
  lockWaitTimeout: LockWaitTimeoutError,
  duplicateKey: DuplicateKeyError,
  valueRejected: ValueRejectedError,
  noSuchTable: NoSuchTableError,
  noSuchColumn: NoSuchColumnError,
  accessDenied: AccessDeniedError,
  connection: DbConnectionError,
  other: DatabaseError,
};

/** The fields of a mysql2 (or Node socket) error this module reads. */
interface DriverErrorShape {
  message?: string;
  errno?: number;
  code?: string;
  sqlState?: string;
  fatal?: boolean;
}

/** The server's error number of a driver error (or of the driver error a DrcError wraps). */
export function errnoOf(err: unknown): number | undefined {
  const e = driverError(err);
  return e && typeof e.errno === 'number' && e.errno > 0 ? e.errno : undefined;
}

/** A driver error itself, or the one a DrcError was made from (its `cause`). */
function driverError(err: unknown): DriverErrorShape | undefined {
  if (err instanceof DrcError) return err.cause instanceof Error ? driverError(err.cause) : undefined;
  return typeof err === 'object' && err !== null ? (err as DriverErrorShape) : undefined;
}

function familyOf(err: unknown): Family | undefined {
  const e = driverError(err);
  if (!e) return undefined;
  const errno = errnoOf(err);
  const family = errno === undefined ? undefined : FAMILY_OF.get(errno);
  if (family) return family;
  // mysql2 marks connection-level failures fatal (the connection is unusable afterwards).
  if ((e.code && CONNECTION_CODES.has(e.code)) || e.fatal === true) return 'connection';
  return undefined;
}

/** True for a driver error from mysql2 or the socket under it (not for other libraries' errors). */
function isDriverError(err: unknown): boolean {
  const e = driverError(err);
  if (!e || !(err instanceof Error) || err instanceof DrcError) return false;
  if (err.name.startsWith('KafkaJS')) return false; // kafkajs errors carry socket codes too (transport/kafka/kafka-errors.ts)
  return typeof e.sqlState === 'string' || (typeof e.errno === 'number' && e.errno > 0) || familyOf(err) === 'connection';
}

/**
 * The catalogue's error for a MySQL/MariaDB driver error (undefined for anything else): the class
 * says whether retrying helps; the message is redacted; errno, SQL state and the column or key the
 * server named go into the context, with whatever the caller adds (table, position).
 */
export function classifyMysqlError(err: unknown, context: ErrorContext = {}): DrcError | undefined {
  if (!isDriverError(err)) return undefined;
  const e = err as DriverErrorShape;
  const message = redactDriverMessage(e.message ?? String(err));
  const named = namedObject(e.message ?? '');
  const ctx: ErrorContext = { ...named, ...context };
  const errno = errnoOf(err);
  if (errno !== undefined) ctx.errno = errno;
  else if (e.code) ctx.driverCode = e.code; // a socket or protocol failure: ECONNREFUSED, PROTOCOL_CONNECTION_LOST …
  if (e.sqlState) ctx.sqlState = e.sqlState;
  return new CLASS_OF[familyOf(err) ?? 'other'](message, { cause: err, context: ctx });
}

/** A write collided with an existing primary or unique key. */
export const isDuplicateKey = (err: unknown): boolean => err instanceof DuplicateKeyError || familyOf(err) === 'duplicateKey';
/** A child row's write found no parent row (foreign key). */
export const isForeignKeyNoParent = (err: unknown): boolean => [1452, 1216].includes(errnoOf(err) ?? 0);
/** A parent row's delete or key change was refused by child rows (foreign key RESTRICT / NO ACTION). */
export const isForeignKeyHasChildren = (err: unknown): boolean => [1451, 1217].includes(errnoOf(err) ?? 0);
/** 1236: the binlog dump cannot start at the position asked for (purged, never there, or a GTID the server does not have). */
export const isBinlogPositionGone = (err: unknown): boolean => errnoOf(err) === 1236;
/** 1193 (ER_UNKNOWN_SYSTEM_VARIABLE): this server version has no such variable. */
export const isUnknownSystemVariable = (err: unknown): boolean => errnoOf(err) === 1193;
/** A scalar subquery returned more than one row (ER_SUBQUERY_NO_1_ROW): db/routing-store.ts newForcedFlipStatement. */
export const isSubqueryManyRows = (err: unknown): boolean => errnoOf(err) === 1242;
/** InnoDB rolled this transaction back to break a deadlock. */
export const isDeadlock = (err: unknown): boolean => err instanceof DeadlockError || familyOf(err) === 'deadlock';
/** A row lock was not granted within innodb_lock_wait_timeout. */
export const isLockWaitTimeout = (err: unknown): boolean => err instanceof LockWaitTimeoutError || familyOf(err) === 'lockWaitTimeout';
/** The table (or its database) does not exist, e.g. drc_meta before any daemon ran. */
export const isNoSuchTable = (err: unknown): boolean => err instanceof NoSuchTableError || familyOf(err) === 'noSuchTable';
/** The password or a privilege was refused. */
export const isAccessDenied = (err: unknown): boolean => err instanceof AccessDeniedError || familyOf(err) === 'accessDenied';

/**
 * A driver message without the row values it quotes; identifiers (tables, columns, keys, users) stay.
 * `Duplicate entry 'alice@x' for key 'email'` → `Duplicate entry '…' for key 'email'`.
 */
export function redactDriverMessage(message: string): string {
  return (
    message
      // Duplicate entry '<value>' for key '<key>' (greedy: the value may itself contain quotes).
      .replace(/(Duplicate entry ')[\s\S]*(' for key )/g, '$1…$2')
      // Incorrect/Truncated incorrect <type> value: '<value>' [for column …] [at row n]
      .replace(/( value: ')[\s\S]*?('(?= for column| for field| at row|\s*$))/g, '$1…$2')
      // Cannot convert string '<value>' from <charset> to <charset> …
      .replace(/(string ')[\s\S]*?(' from )/g, '$1…$2')
      // A syntax error quotes the statement from where it failed, parameters interpolated: cut it there.
      .replace(/( to use near ')[\s\S]*$/, "$1…'")
      // `column`=value pairs (foreign key and constraint details in some server versions)
      .replace(/(`[^`]+`\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s,)]+)/g, '$1…')
      // Any other quoted text is a value unless the word before it names an identifier: a denylist of
      // message shapes misses some ("record '…' would lead to", "string: '…'", a syntax error's
      // "near '…'" with interpolated parameters, a trigger's SIGNAL text), so what is kept is allowlisted.
      .replace(/(\S+\s|@)?'((?:[^'\\]|\\.|'')*)'/g, (all: string, before: string | undefined) =>
        before === '@' || (before !== undefined && IDENTIFIER_BEFORE.test(before.trim())) ? all : `${before ?? ''}'…'`,
      )
  );
}

/** Words after which a server message quotes an identifier (a key, column, table, database, user). */
const IDENTIFIER_BEFORE = /^(key|column|Column|field|Field|table|Table|database|Database|schema|user|constraint|CONSTRAINT|in|index|function|procedure|trigger|variable|savepoint|engine|charset|collation|COLLATION|CHARACTER)$/;

/** The column or key a message names (an identifier, safe to log). */
function namedObject(message: string): ErrorContext {
  const key = /for key '([^']+)'/.exec(message)?.[1];
  if (key) return { key };
  const column =
    /for column (?:`[^`]*`\.)*`([^`]+)`/.exec(message)?.[1] ??
    /(?:for column|Column|Field|generated column) '([^']+)'/.exec(message)?.[1];
  if (column) return { column };
  const constraint = /CONSTRAINT `([^`]+)`/.exec(message)?.[1];
  return constraint ? { constraint } : {};
}
