/**
 * The tables TARGET lacks, created from SOURCE's `SHOW CREATE TABLE` (README "Adding an ezone": said on
 * stderr and in --json), under an account that may (DRC's own has no DDL privilege).
 */
import mysql from 'mysql2/promise';
import type { MysqlConfig } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { isAccessDenied } from '../db/mysql-errors.js';
import { quoteId } from '../db/sql.js';
import { CheckFailedError } from '../errors.js';
import type { PlannedTable } from './bootstrap-preflight.js';
import { formatTableName } from './verify-names.js';

/** An account that may create tables (--user / --password-env). */
export interface DdlAccount {
  user: string;
  password: string;
}

/** TARGET's server under the account that creates tables: --user/--password-env replace the whole account (passwordFile too). */
export function targetDdl(own: MysqlConfig, account: DdlAccount | undefined): MysqlConfig {
  if (!account) return own;
  const { passwordFile: _unused, ...rest } = own;
  return { ...rest, ...account };
}

export async function createTable(source: mysql.Pool, target: MysqlConfig, p: PlannedTable, to: string): Promise<void> {
  const { schema, table } = p.table;
  const [rows] = await source.query<mysql.RowDataPacket[]>(`SHOW CREATE TABLE ${quoteId(schema)}.${quoteId(table)}`);
  const ddl = String(rows[0]!['Create Table']);
  const conn = await mysql.createConnection(connectionOptions(target));
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(schema)}`);
    await conn.query(`USE ${quoteId(schema)}`);
    // Foreign keys may name a parent created later (as mysqldump does).
    await conn.query('SET SESSION foreign_key_checks = 0');
    await conn.query(ddl);
    await conn.query('SET SESSION foreign_key_checks = 1');
  } catch (err) {
    if (isAccessDenied(err)) {
      throw new CheckFailedError(
        `${formatTableName(p.table)} is missing in ${to} and the account ${target.user} may not create it — run with --user and --password-env of an account that may (CREATE on ${quoteId(schema)}.*), or create it in ${to} from the source's SHOW CREATE TABLE, then run bootstrap again`,
      );
    }
    throw err;
  } finally {
    await conn.end().catch(() => undefined);
  }
}

