/**
 * Rule 5 of DESIGN.md section 5, at write time: another row (another primary key) holds one of the
 * incoming row's unique-key values although the decisions saw none (unique-claims.ts decides before
 * the writes; a row can still appear in between — a concurrent local write — or the table has no
 * version column). The newer row (version, then tie-break) wins and the loser is removed; the
 * collision is a conflict, never a crash or a stall.
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import { LOSER_ORIGIN, type Tombstone } from '../db/tombstones.js';
import { RetryableApplyError } from '../errors.js';
import { typeOf } from '../model/types/row.js';
import { toWireRow, type Row } from '../model/value.js';
import { versionOf } from '../model/version.js';
import type { ConflictLog } from './conflict-log.js';
import { tombstoneIdentity } from './keys.js';
import { compareImages } from './resolver.js';
import { justBelow } from './unique-claims.js';
import { uniqueLookups } from './unique-claims-state.js';
import { isForeignKeyHasChildren } from '../db/mysql-errors.js';
import { removeRefusing } from './fk-conflict.js';
import { deleteRow, KEY_INDEX_COLUMN, selectByKeys, selectByUniqueKeys, SELF_COLUMN } from './sql/rows.js';
import type { Op } from './types.js';

export interface CollisionContext {
  session: PipelinedSession;
  /** This ezone. */
  ezone: string;
  versionColumn: string | null;
  conflicts: ConflictLog;
}

/**
 * Resolve the collision of `op` (its write failed with a duplicate key): remove the loser, record its
 * tombstone in `tombstones` and the conflict. Returns whether the incoming write should be retried (it
 * won). A duplicate primary key is a row that appeared concurrently: retryable in place.
 */
export async function resolveUniqueCollision(ctx: CollisionContext, op: Op, tombstones: Tombstone[], onLose?: () => Promise<void>, removing?: (loser: Row) => Promise<void>): Promise<boolean> {
  const { change } = op.incoming;
  const table = `${change.schema}.${change.table}`;
  const { session, versionColumn } = ctx;
  const lookups = uniqueLookups(op.info, op.image);
  if (lookups.length === 0) throw new RetryableApplyError(`duplicate primary key in ${table}: the row appeared concurrently`);
  const [found] = (await session.roundTrip([selectByUniqueKeys(change.schema, change.table, lookups, op.info, { pk: op.info.primaryKey, key: op.key })])) as [mysql.RowDataPacket[]];
  // The row of the incoming key itself is not a rival, however its key is spelled (the server compares, under the key's collation).
  const others = found.filter((r) => Number(r[SELF_COLUMN]) !== 1).map((r) => toWireRow(without(r, SELF_COLUMN), op.info.columnTypes));
  if (others.length === 0) throw new RetryableApplyError(`duplicate primary key in ${table}: the row appeared concurrently`);

  const types = op.info.columnTypes;
  const version = (r: Row) => (versionColumn === null ? undefined : versionOf(r[versionColumn], typeOf(types, versionColumn)));
  const incomingWins = versionColumn === null || others.every((r) => compareImages(change.version, op.image, version(r), r, types) > 0);
  const losers = incomingWins ? others : op.kind === 'update' ? [await currentRow(session, op)] : [];
  if (!incomingWins) await onLose?.();
  for (const loser of losers) {
    if (!loser) continue;
    const key = pick(loser, op.info.primaryKey);
    const del = deleteRow(change.schema, change.table, op.info.primaryKey, key);
    // Its children wait for its key to come back, as under the claim book's removals (write-batch.ts).
    await removing?.(loser);
    try {
      await session.exec(del);
    } catch (err) {
      // The loser is a parent whose RESTRICT / NO ACTION children refuse its removal: they go first, as
      // under a parent's delete refused by children (fk-conflict.ts), rather than stall the stream with
      // an error no retry can fix. (Not proven convergent: where the loser's children live elsewhere
      // depends on that ezone's own decisions; the randomized test found this stall, not its cure.)
      if (!isForeignKeyHasChildren(err) || (await removeRefusing(session, op.info.referencedBy ?? [], loser)) === 0) throw err;
      await session.exec(del);
    }
    // As the claim book leaves a removed holder's (unique-claims.ts): a loser's removal, just below its
    // version (an image of the key at that version winning the tie-break may still come).
    const v = justBelow(version(loser));
    if (v) tombstones.push({ schema: change.schema, table: change.table, key, version: v, origin: LOSER_ORIGIN, identity: tombstoneIdentity(op.info) });
  }
  ctx.conflicts.record({
    incoming: op.incoming,
    reason: 'unique-collision',
    decision: incomingWins ? 'applied' : 'skipped',
    local: incomingWins ? (others[0] ?? null) : null,
    versionColumn,
  });
  return incomingWins;
}

async function currentRow(session: PipelinedSession, op: Op): Promise<Row | undefined> {
  const [rows] = (await session.roundTrip([selectByKeys(op.incoming.change.schema, op.incoming.change.table, op.info.primaryKey, [op.key], op.info)])) as [mysql.RowDataPacket[]];
  return rows[0] ? toWireRow(without(rows[0], KEY_INDEX_COLUMN), op.info.columnTypes) : undefined;
}

function pick(row: Row, cols: string[]): Row {
  const out: Row = {};
  for (const c of cols) out[c] = row[c] ?? null;
  return out;
}

function without(r: mysql.RowDataPacket, column: string): mysql.RowDataPacket {
  const { [column]: _, ...rest } = r;
  return rest as mysql.RowDataPacket;
}
