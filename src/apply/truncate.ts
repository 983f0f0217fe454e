/**
 * TRUNCATE TABLE from another ezone (issue 13; DESIGN.md section 12): delete, here, every row not
 * newer than the truncate, and keep a table-wide tombstone of the truncate's origin
 * (drc_meta.applied_truncates; capture keeps the origin's own, db/truncates.ts). Every key of the table
 * then reads it as a tombstone (row-state.ts): an insert or update from another origin that is not
 * newer is held back (rule 3) — the concurrent older update that would resurrect a truncated row in
 * one ezone only — and a newer one survives everywhere, in the origin too.
 *
 * A truncate's version is a time (capture's deleteTime). It protects tables whose version column holds
 * times; with a counter, or no version column, the truncate deletes every row and protects nothing
 * (README: concurrent writes to such a table may leave ezones apart, as for any unprotected table).
 * Every applied truncate is recorded in drc_meta.conflicts (reason `truncate`): an operator sees it.
 *
 * A truncate travels alone in its source transaction; the target transaction runs the changes before
 * it, then the truncate, then re-reads the state for the changes after it. The applier lets nothing
 * run beside a transaction with a truncate (applier.ts): it touches every key of its table.
 */
import type { PipelinedSession } from '../db/pipelined-session.js';
import { recordTruncateStatement } from '../db/truncates.js';
import { SchemaMismatchError } from '../errors.js';
import { typeOf } from '../model/types/row.js';
import type { ConflictLog } from './conflict-log.js';
import { truncateRows } from './sql/truncate.js';
import type { TableSource } from './table-cache.js';
import type { IncomingChange } from './types.js';

export const isTruncate = (incoming: IncomingChange): boolean => incoming.change.op === 'truncate';

export interface TruncateContext {
  session: PipelinedSession;
  tables: TableSource;
  conflicts: ConflictLog;
  versionColumnOf(schema: string, table: string): string | null;
}

/** How a truncate applies to a table here. Pure. */
export function truncatePlan(versionColumn: string | null, version: string | undefined | null, clockVersion: boolean): { compare: boolean } {
  return { compare: versionColumn !== null && version !== undefined && version !== null && clockVersion };
}

/** Apply one truncate change in the open target transaction; returns how many rows it deleted. */
export async function applyTruncate(ctx: TruncateContext, incoming: IncomingChange): Promise<number> {
  const { change, origin } = incoming;
  const name = `${change.schema}.${change.table}`;
  const info = await ctx.tables.get(change.schema, change.table);
  if (!info) throw new SchemaMismatchError(`table ${name} does not exist here — create it (DDL is not replicated)`, { table: name });
  const configured = ctx.versionColumnOf(change.schema, change.table);
  const versionColumn = configured !== null && info.columns.has(configured) ? configured : null;
  const { compare } = truncatePlan(versionColumn, change.version, versionColumn !== null && typeOf(info.columnTypes, versionColumn).clockVersion);
  const version = compare ? (change.version as string) : undefined;
  // Without foreign-key checks, as in the origin: a TRUNCATE of a referenced table runs only with them
  // off there, and then neither cascades to its children nor is refused by them. With checks on here,
  // CASCADE / SET NULL children would change in this ezone only, and RESTRICT ones stall the stream.
  // Switched back in the same round trip, also when the DELETE fails (the stream then restarts its session).
  const off = { sql: 'SET SESSION foreign_key_checks = 0', params: [] };
  const on = { sql: 'SET SESSION foreign_key_checks = 1', params: [] };
  let result: unknown;
  try {
    [, result] = await ctx.session.roundTrip([off, truncateRows(change.schema, change.table, compare ? versionColumn : null, version), on]);
  } catch (err) {
    await ctx.session.roundTrip([on]).catch(() => undefined);
    throw err;
  }
  if (version !== undefined) ctx.session.defer(recordTruncateStatement('applied_truncates', change.schema, change.table, origin, version));
  ctx.conflicts.record({ incoming, reason: 'truncate', decision: 'applied', local: null, versionColumn });
  return Number((result as { affectedRows?: number } | undefined)?.affectedRows ?? 0);
}
