import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { classifyMysqlError } from '../db/mysql-errors.js';
import { loggerOptions, serializeError } from './logger.js';

const mysqlDup = () =>
  Object.assign(new Error("Duplicate entry 'alice@example.com' for key 'email'"), {
    errno: 1062,
    code: 'ER_DUP_ENTRY',
    sqlState: '23000',
    sqlMessage: "Duplicate entry 'alice@example.com' for key 'email'",
    sql: "INSERT INTO users VALUES (1, 'alice@example.com')",
  });

describe('serializeError', () => {
  it('logs a driver error with its code and a redacted message, never its sql or sqlMessage', () => {
    const out = serializeError(mysqlDup()) as Record<string, unknown>;
    expect(out).toMatchObject({ type: 'Error', code: 'ER_DUP_ENTRY', errno: 1062, message: "Duplicate entry '…' for key 'email'" });
    expect(JSON.stringify(out)).not.toContain('alice');
    expect(out).not.toHaveProperty('sql');
    expect(out).not.toHaveProperty('sqlMessage');
  });

  it('logs a DrcError with its code, flags and context, and its cause redacted too', () => {
    const err = classifyMysqlError(mysqlDup(), { table: 'app.users', position: '0-1-9' });
    const out = serializeError(err) as Record<string, unknown>;
    expect(out).toMatchObject({ type: 'DuplicateKeyError', code: 'DRC_DUPLICATE_KEY', retryable: false, fatal: false, context: { table: 'app.users', key: 'email' } });
    expect(JSON.stringify(out)).not.toContain('alice');
  });

  it('redacts a message logged as a plain string', () => {
    expect(serializeError("Incorrect integer value: 'secret' for column `d`.`t`.`c` at row 1")).toBe("Incorrect integer value: '…' for column `d`.`t`.`c` at row 1");
  });

  it('is what the pino logger uses for `err`', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = pino(loggerOptions('info'), sink);
    log.warn({ err: mysqlDup(), table: 'app.users' }, 'write failed');
    log.warn({ err: "Duplicate entry 'bob@example.com' for key 'email'" }, 'as text');
    expect(lines.join('')).not.toMatch(/alice|bob/);
    expect(lines.join('')).toContain("Duplicate entry '…' for key 'email'");
  });
});
