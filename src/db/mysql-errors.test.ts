import { describe, expect, it } from 'vitest';
import { DrcError, ErrorCode } from '../errors.js';
import { classifyMysqlError, errnoOf, isDeadlock, isDuplicateKey, isForeignKeyHasChildren, isForeignKeyNoParent, isLockWaitTimeout, isNoSuchTable, redactDriverMessage } from './mysql-errors.js';

/** A mysql2 error as the driver builds it (message, errno, code, sqlState, and the statement). */
function driverError(errno: number, code: string, message: string, sqlState = 'HY000'): Error {
  return Object.assign(new Error(message), { errno, code, sqlState, sqlMessage: message, sql: 'INSERT INTO t VALUES (…the values…)' });
}

/**
 * Real messages, produced by MariaDB 10.11.19 (the sandbox's server) with mysql2 3.24 under strict
 * sql_mode, the row values chosen recognisable (`private`, `secret`, e-mail addresses).
 */
const REAL: { errno: number; code: string; message: string; redacted: string; class: string }[] = [
  { errno: 1062, code: 'ER_DUP_ENTRY', message: "Duplicate entry 'alice@example.com' for key 'email'", redacted: "Duplicate entry '…' for key 'email'", class: ErrorCode.duplicateKey },
  { errno: 1062, code: 'ER_DUP_ENTRY', message: "Duplicate entry '7-x-y' for key 'PRIMARY'", redacted: "Duplicate entry '…' for key 'PRIMARY'", class: ErrorCode.duplicateKey },
  { errno: 1406, code: 'ER_DATA_TOO_LONG', message: "Data too long for column 'short' at row 1", redacted: "Data too long for column 'short' at row 1", class: ErrorCode.valueRejected },
  { errno: 1264, code: 'ER_WARN_DATA_OUT_OF_RANGE', message: "Out of range value for column 'tiny' at row 1", redacted: "Out of range value for column 'tiny' at row 1", class: ErrorCode.valueRejected },
  { errno: 1265, code: 'WARN_DATA_TRUNCATED', message: "Data truncated for column 'e' at row 1", redacted: "Data truncated for column 'e' at row 1", class: ErrorCode.valueRejected },
  {
    errno: 1292,
    code: 'ER_TRUNCATED_WRONG_VALUE',
    message: "Incorrect date value: '2024-13-45' for column `errgen`.`t`.`d` at row 1",
    redacted: "Incorrect date value: '…' for column `errgen`.`t`.`d` at row 1",
    class: ErrorCode.valueRejected,
  },
  {
    errno: 1366,
    code: 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
    message: "Incorrect integer value: 'abc-private' for column `errgen`.`t`.`tiny` at row 1",
    redacted: "Incorrect integer value: '…' for column `errgen`.`t`.`tiny` at row 1",
    class: ErrorCode.valueRejected,
  },
  {
    errno: 1366,
    code: 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
    message: "Incorrect string value: '\\xF0\\x9F\\x98\\x80 p...' for column `errgen`.`t`.`lat1` at row 1",
    redacted: "Incorrect string value: '…' for column `errgen`.`t`.`lat1` at row 1",
    class: ErrorCode.valueRejected,
  },
  { errno: 1048, code: 'ER_BAD_NULL_ERROR', message: "Column 'req' cannot be null", redacted: "Column 'req' cannot be null", class: ErrorCode.valueRejected },
  { errno: 1364, code: 'ER_NO_DEFAULT_FOR_FIELD', message: "Field 'req' doesn't have a default value", redacted: "Field 'req' doesn't have a default value", class: ErrorCode.valueRejected },
  {
    errno: 1452,
    code: 'ER_NO_REFERENCED_ROW_2',
    message: 'Cannot add or update a child row: a foreign key constraint fails (`errgen`.`t`, CONSTRAINT `fk_parent` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`))',
    redacted: 'Cannot add or update a child row: a foreign key constraint fails (`errgen`.`t`, CONSTRAINT `fk_parent` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`))',
    class: ErrorCode.valueRejected,
  },
  {
    errno: 1451,
    code: 'ER_ROW_IS_REFERENCED_2',
    message: 'Cannot delete or update a parent row: a foreign key constraint fails (`errgen`.`t`, CONSTRAINT `fk_parent` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`))',
    redacted: 'Cannot delete or update a parent row: a foreign key constraint fails (`errgen`.`t`, CONSTRAINT `fk_parent` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`))',
    class: ErrorCode.valueRejected,
  },
  { errno: 1906, code: '', message: "The value specified for generated column 'gen' in table 't' has been ignored", redacted: "The value specified for generated column 'gen' in table 't' has been ignored", class: ErrorCode.valueRejected },
  { errno: 4025, code: 'ER_CONSTRAINT_FAILED', message: 'CONSTRAINT `t.j` failed for `errgen`.`t`', redacted: 'CONSTRAINT `t.j` failed for `errgen`.`t`', class: ErrorCode.valueRejected },
  { errno: 1416, code: 'ER_CANT_CREATE_GEOMETRY_OBJECT', message: 'Cannot get geometry object from data you send to the GEOMETRY field', redacted: 'Cannot get geometry object from data you send to the GEOMETRY field', class: ErrorCode.valueRejected },
  { errno: 1146, code: 'ER_NO_SUCH_TABLE', message: "Table 'errgen.nope' doesn't exist", redacted: "Table 'errgen.nope' doesn't exist", class: ErrorCode.noSuchTable },
  { errno: 1054, code: 'ER_BAD_FIELD_ERROR', message: "Unknown column 'nocol' in 'SELECT'", redacted: "Unknown column 'nocol' in 'SELECT'", class: ErrorCode.noSuchColumn },
  { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT', message: 'Lock wait timeout exceeded; try restarting transaction', redacted: 'Lock wait timeout exceeded; try restarting transaction', class: ErrorCode.lockWaitTimeout },
  { errno: 1213, code: 'ER_LOCK_DEADLOCK', message: 'Deadlock found when trying to get lock; try restarting transaction', redacted: 'Deadlock found when trying to get lock; try restarting transaction', class: ErrorCode.deadlock },
  { errno: 1045, code: 'ER_ACCESS_DENIED_ERROR', message: "Access denied for user 'root'@'127.0.0.1' (using password: YES)", redacted: "Access denied for user 'root'@'127.0.0.1' (using password: YES)", class: ErrorCode.accessDenied },
  {
    errno: 1142,
    code: 'ER_TABLEACCESS_DENIED_ERROR',
    message: "INSERT command denied to user 'errlow'@'127.0.0.1' for table `errgen`.`parent`",
    redacted: "INSERT command denied to user 'errlow'@'127.0.0.1' for table `errgen`.`parent`",
    class: ErrorCode.accessDenied,
  },
  {
    errno: 1227,
    code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR',
    message: 'Access denied; you need (at least one of) the SUPER, CONNECTION ADMIN privilege(s) for this operation',
    redacted: 'Access denied; you need (at least one of) the SUPER, CONNECTION ADMIN privilege(s) for this operation',
    class: ErrorCode.accessDenied,
  },
];

describe('redactDriverMessage', () => {
  it.each(REAL)('$errno $message', ({ message, redacted }) => {
    expect(redactDriverMessage(message)).toBe(redacted);
  });

  it('removes values that contain quotes and the separators themselves', () => {
    expect(redactDriverMessage("Duplicate entry 'O'Brien' for key 'x'' for key 'name'")).toBe("Duplicate entry '…' for key 'name'");
    expect(redactDriverMessage("Truncated incorrect DOUBLE value: 'it's secret'")).toBe("Truncated incorrect DOUBLE value: '…'");
    expect(redactDriverMessage("Incorrect datetime value: '2024-02-30 10:00:00' for column 'at' at row 1")).toBe("Incorrect datetime value: '…' for column 'at' at row 1");
    expect(redactDriverMessage("Cannot convert string '\\xE4secret' from binary to utf8mb4")).toBe("Cannot convert string '…' from binary to utf8mb4");
    expect(redactDriverMessage('Foreign key violation (`user_id`=42, `email`=\'a@b\')')).toBe('Foreign key violation (`user_id`=…, `email`=…)');
    // MySQL 8 names the key with its table.
    expect(redactDriverMessage("Duplicate entry 'bob@example.com' for key 'users.email'")).toBe("Duplicate entry '…' for key 'users.email'");
  });
});

describe('redactDriverMessage keeps only quoted identifiers (allowlist), whatever the message shape', () => {
  it.each([
    ["Foreign key constraint for table 'users', record 'alice@x.com' would lead to a duplicate entry in table 'orders', key 'email'", "Foreign key constraint for table 'users', record '…' would lead to a duplicate entry in table 'orders', key 'email'"],
    ["Invalid utf8mb4 character string: 'F09F98'", "Invalid utf8mb4 character string: '…'"],
    ["Incorrect datetime value: '2020-13-45' for function str_to_date", "Incorrect datetime value: '…' for function str_to_date"],
    ["You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'alice@x.com', 5) ON DUPLICATE KEY UPDATE' at line 1", "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '…'"],
    ["Unknown column 'nick' in 'field list'", "Unknown column 'nick' in 'field list'"],
    ["Access denied for user 'drc'@'127.0.0.1' (using password: YES)", "Access denied for user 'drc'@'127.0.0.1' (using password: YES)"],
  ])('%s', (message, redacted) => {
    expect(redactDriverMessage(message)).toBe(redacted);
    expect(redactDriverMessage(message)).not.toMatch(/alice|F09F98|2020-13-45/);
  });
});

describe('classifyMysqlError', () => {
  it.each(REAL)('$errno → $class', ({ errno, code, message, redacted, class: expected }) => {
    const err = classifyMysqlError(driverError(errno, code, message), { table: 'errgen.t' });
    expect(err).toBeInstanceOf(DrcError);
    expect(err?.code).toBe(expected);
    expect(err?.message).toBe(redacted);
    expect(err?.context).toMatchObject({ table: 'errgen.t', errno });
  });

  it('marks transient failures retryable and deterministic ones neither retryable nor fatal', () => {
    const deadlock = classifyMysqlError(driverError(1213, 'ER_LOCK_DEADLOCK', 'Deadlock found'));
    expect(deadlock).toMatchObject({ retryable: true, fatal: false });
    const value = classifyMysqlError(driverError(1406, 'ER_DATA_TOO_LONG', "Data too long for column 'short' at row 1"));
    expect(value).toMatchObject({ retryable: false, fatal: false, context: { column: 'short' } });
    expect(classifyMysqlError(driverError(1062, 'ER_DUP_ENTRY', "Duplicate entry 'a' for key 'email'"))?.context).toMatchObject({ key: 'email' });
    expect(classifyMysqlError(driverError(1064, 'ER_PARSE_ERROR', 'You have an error in your SQL syntax'))).toMatchObject({ code: 'DRC_DATABASE_ERROR', retryable: false });
  });

  it('recognises lost and refused connections (real mysql2 errors)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { errno: -111, code: 'ECONNREFUSED' });
    const lost = Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
    const closed = Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true });
    const gone = driverError(2006, 'CR_SERVER_GONE_ERROR', 'MySQL server has gone away');
    for (const e of [refused, lost, closed, gone]) expect(classifyMysqlError(e)).toMatchObject({ code: 'DRC_DB_CONNECTION', retryable: true });
    expect(classifyMysqlError(refused)?.context).toMatchObject({ driverCode: 'ECONNREFUSED' });
  });

  it('leaves anything that is not a driver error alone', () => {
    expect(classifyMysqlError(new Error('plain'))).toBeUndefined();
    expect(classifyMysqlError('text')).toBeUndefined();
    expect(classifyMysqlError(Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError', code: 'ECONNREFUSED' }))).toBeUndefined();
  });

  it('keeps the driver error as the cause, and the predicates see through the DrcError made from it', () => {
    const raw = driverError(1062, 'ER_DUP_ENTRY', "Duplicate entry 'x' for key 'PRIMARY'");
    const err = classifyMysqlError(raw);
    expect(err?.cause).toBe(raw);
    expect(isDuplicateKey(raw) && isDuplicateKey(err)).toBe(true);
    expect(errnoOf(err)).toBe(1062);
    expect(isDeadlock(driverError(1213, 'ER_LOCK_DEADLOCK', 'x'))).toBe(true);
    expect(isLockWaitTimeout(driverError(1205, 'ER_LOCK_WAIT_TIMEOUT', 'x'))).toBe(true);
    expect(isNoSuchTable(driverError(1146, 'ER_NO_SUCH_TABLE', "Table 'drc_meta.heartbeat' doesn't exist"))).toBe(true);
    expect(isDuplicateKey(new Error('x'))).toBe(false);
  });
});

describe('foreign-key predicates (issue 13)', () => {
  it('tell a missing parent (1452) from refusing children (1451), through the DrcError made from them', () => {
    const noParent = driverError(1452, 'ER_NO_REFERENCED_ROW_2', 'Cannot add or update a child row: a foreign key constraint fails', '23000');
    const children = driverError(1451, 'ER_ROW_IS_REFERENCED_2', 'Cannot delete or update a parent row: a foreign key constraint fails', '23000');
    expect([isForeignKeyNoParent(noParent), isForeignKeyHasChildren(noParent)]).toEqual([true, false]);
    expect([isForeignKeyNoParent(children), isForeignKeyHasChildren(children)]).toEqual([false, true]);
    expect(isForeignKeyNoParent(classifyMysqlError(noParent))).toBe(true);
    expect(isForeignKeyHasChildren(driverError(1062, 'ER_DUP_ENTRY', 'Duplicate entry'))).toBe(false);
  });
});
