/**
 * The statements of the writes a target transaction decided (write-batch.ts runs them): one per write,
 * consecutive inserts of one table merged, UPDATE and DELETE checked to touch one row, and the session
 * switches a write needs wrapped around it (ENUM index 0, foreign-key checks off as in the origin) with
 * the statements that follow it (a key change's children, a lost delete's orphans).
 */
import type mysql from 'mysql2/promise';
import type { DeferredStatement, Statement } from '../db/sql.js';
import { APPLY_SQL_MODE, APPLY_SQL_MODE_ENUM_ZERO } from '../db/connect.js';
import { classifyMysqlError } from '../db/mysql-errors.js';
import { followStatements, orphanStatements } from './fk-conflict.js';
import { deleteRow, insertRows, updateRow } from './sql/rows.js';
import type { Op } from './types.js';

/** Rows per multi-row INSERT. */
const ROWS_PER_INSERT = 500;

export const SAVEPOINT: Statement = { sql: 'SAVEPOINT drc_writes', params: [] };
export const ROLLBACK_TO_SAVEPOINT: Statement = { sql: 'ROLLBACK TO SAVEPOINT drc_writes', params: [] };

/** An UPDATE or DELETE by key touched no row: the row here is not the one the decisions read. */
export class RowNotFoundError extends Error {
  constructor() {
    super('a write by key touched no row');
    this.name = 'RowNotFoundError';
  }
}

/** A statement that must touch exactly one row (matched rows: mysql2 sets CLIENT_FOUND_ROWS). */
const touchingOne = (s: Statement): DeferredStatement => ({
  ...s,
  check: (result) => {
    if ((result as mysql.ResultSetHeader).affectedRows === 0) throw new RowNotFoundError();
  },
});

/**
 * A driver error of writes into one table, classified with that table in its context: the stream's
 * one error line (a value the target rejects pauses it) names the table. Anything else is unchanged.
 */
export function inTable(err: unknown, ops: Op[]): unknown {
  const tables = new Set(ops.map((o) => `${o.incoming.change.schema}.${o.incoming.change.table}`));
  if (tables.size !== 1) return err;
  return classifyMysqlError(err, { table: [...tables][0] as string }) ?? err;
}

const sqlMode = (mode: string): DeferredStatement => ({ sql: `SET SESSION sql_mode = '${mode}'`, params: [] });

/** Whether an image stores ENUM index 0 (''): the one value the apply session's strict mode refuses. */
function writesEnumZero(op: Op): boolean {
  if (op.kind === 'delete') return false;
  const enums = op.info.columnMeta?.filter((m) => m.dataType?.toLowerCase() === 'enum');
  return enums !== undefined && enums.some((m) => m.name !== undefined && op.image[m.name] === '');
}

const fkChecks = (on: boolean): DeferredStatement => ({ sql: `SET SESSION foreign_key_checks = ${on ? 1 : 0}`, params: [] });

/**
 * The origin wrote the row with foreign_key_checks = 0 (a dump load): it is applied so too (issue 13).
 * Never a unique loser's removal (Op.removal), which carries the winner's change: DRC's own delete,
 * run with checks on as at write time (unique-collision.ts) — its cascades and RESTRICT children as
 * the stash of its children expects (fk-waiting.ts removedChildren).
 */
const withoutFkChecks = (op: Op): boolean => op.incoming.change.noFkChecks === true && !op.removal;

/** Whether a write runs in a relaxed session (its statements wrapped in a switch and back). */
export const relaxed = (op: Op): boolean => writesEnumZero(op) || withoutFkChecks(op) || op.children !== undefined || op.orphans !== undefined;

/** Both session switches back to the apply session's own: after a failed round trip that stopped inside a wrapped write. */
export const RESTORE_SESSION: DeferredStatement[] = [sqlMode(APPLY_SQL_MODE), fkChecks(true)];

/**
 * A write's statements: its own, or wrapped in the session switches it needs and back — the relaxed
 * sql_mode to store ENUM index 0, foreign_key_checks off for a row the origin wrote without them.
 */
export function statementsOf(op: Op, statement: DeferredStatement): DeferredStatement[] {
  const enumZero = writesEnumZero(op);
  const noFk = withoutFkChecks(op);
  // A key change whose old row stays: its children follow the new key, as in the origin (fk-key-change.ts).
  const follow = op.children ? followStatements(op.info.referencedBy ?? [], op.children.from, op.children.to, op.children.before) : [];
  // A parent delete that lost here: the children it removed in its origin go here too (fk-conflict.ts).
  if (op.orphans) follow.push(...orphanStatements(op.info.referencedBy ?? [], op.image, op.orphans.before));
  return [...(enumZero ? [sqlMode(APPLY_SQL_MODE_ENUM_ZERO)] : []), ...(noFk ? [fkChecks(false)] : []), statement, ...follow, ...(noFk ? [fkChecks(true)] : []), ...(enumZero ? [sqlMode(APPLY_SQL_MODE)] : [])];
}

/** The statement of one write (UPDATE and DELETE checked to touch one row). */
export function statementOf(op: Op): DeferredStatement {
  const { schema, table } = op.incoming.change;
  if (op.kind === 'insert') return insertRows(schema, table, [op.image], op.info);
  if (op.kind === 'update') return touchingOne(updateRow(schema, table, op.info.primaryKey, op.key, op.image, op.info));
  return touchingOne(deleteRow(schema, table, op.info.primaryKey, op.key));
}

/** Pure: the writes as statements, consecutive inserts of one table and column list merged. */
export function writeStatements(ops: Op[]): DeferredStatement[] {
  const statements: DeferredStatement[] = [];
  for (let i = 0; i < ops.length; ) {
    const op = ops[i] as Op;
    let j = i + 1;
    if (op.kind === 'insert' && !op.children) {
      const cols = Object.keys(op.image).join(',');
      const zero = writesEnumZero(op);
      const noFk = withoutFkChecks(op);
      while (j < ops.length && j - i < ROWS_PER_INSERT && ops[j]!.kind === 'insert' && sameTable(ops[j]!, op) && Object.keys(ops[j]!.image).join(',') === cols && writesEnumZero(ops[j]!) === zero && withoutFkChecks(ops[j]!) === noFk && !ops[j]!.children) j++;
      statements.push(...statementsOf(op, insertRows(op.incoming.change.schema, op.incoming.change.table, ops.slice(i, j).map((o) => o.image), op.info)));
    } else {
      statements.push(...statementsOf(op, statementOf(op)));
    }
    i = j;
  }
  return statements;
}

const sameTable = (a: Op, b: Op) => a.incoming.change.schema === b.incoming.change.schema && a.incoming.change.table === b.incoming.change.table;
