/**
 * The foreign-key passes over a batch's writes before any is written (write-batch.ts): each settles
 * some writes by a foreign-key rule — taking them out of `ops`, or rewriting them — so that what is
 * left is written as decided.
 *
 * In order: deletes of rows an older concurrent key change moved away (their children go, fk-adopt.ts)
 * and lost updates that only take children along; deletes of rows not here that may be waiting
 * children (fk-waiting.ts); a lost delete's orphans when the row here moved in after it (fk-adopt.ts
 * movedInSince); children older than a delete of their parent (fk-cascade.ts).
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import type { Statement } from '../db/sql.js';
import { keyIdentityOf } from '../db/key-identity.js';
import { REMOVAL_ORIGIN, type Tombstone } from '../db/tombstones.js';
import { childOutcome, withNullReferences } from './fk-conflict.js';
import { abandonMovedChildren, movedInSince } from './fk-adopt.js';
import { dropWaitingStatement } from './fk-waiting.js';
import type { FkContext } from './fk-parents.js';
import { olderThanParentDeletes } from './fk-cascade.js';
import { KEY_INDEX_COLUMN, selectByKeys } from './sql/rows.js';
import type { CollisionContext } from './unique-collision.js';
import type { Op } from './types.js';
import { toWireRow, type Row } from '../model/value.js';
import { typeOf } from '../model/types/row.js';
import { compareVersions, versionOf } from '../model/version.js';

export interface PrepassContext {
  session: PipelinedSession;
  collisions: (op: Op) => CollisionContext;
  /** The ezone written and its foreign-key context (fk-parents.ts). */
  waiting: FkContext & { ezone: string };
  /** Children an older concurrent key change took along follow `op` (write-batch.ts WriteBatcher.adopt). */
  adopt: (op: Op, versionColumn: string) => Promise<void>;
}

/** The passes, in order; changes `ops` in place (the caller keeps it, for a replay at commit). */
export async function settleByForeignKeys(ctx: PrepassContext, ops: Op[], tombstones: Tombstone[]): Promise<void> {
  await abandonMoved(ctx, ops);
  await dropWaiting(ctx, ops);
  await keepMovedIn(ctx, ops);
  if (ops.length > 0) await dropOlderThanParentDeletes(ctx, ops, tombstones);
}

/** The row here at the key of `op` (the one its write would touch), locked; undefined when none. */
export async function rowAt(session: PipelinedSession, op: Op): Promise<Row | undefined> {
  const [result] = await session.roundTrip([rowAtStatement(op)]);
  return rowOf(result, op);
}

const rowAtStatement = (op: Op): Statement => selectByKeys(op.incoming.change.schema, op.incoming.change.table, op.info.primaryKey, [op.key], op.info);

function rowOf(result: unknown, op: Op): Row | undefined {
  const rows = result as mysql.RowDataPacket[];
  if (!rows[0]) return undefined;
  const { [KEY_INDEX_COLUMN]: _, ...row } = rows[0];
  return toWireRow(row as mysql.RowDataPacket, op.info.columnTypes);
}

/**
 * The deletes of rows not here (Op.movedAway): the children an older concurrent key change took along
 * go, a conflict (fk-adopt.ts abandonMovedChildren); updates that lost to a newer row (Op.adoptOnly):
 * those children follow them (fk-adopt.ts). Both taken out of `ops`.
 */
async function abandonMoved(ctx: PrepassContext, ops: Op[]): Promise<void> {
  if (!ops.some((op) => op.movedAway || op.adoptOnly)) return;
  const kept: Op[] = [];
  for (const op of ops) {
    if (op.adoptOnly) {
      // A lost update newer than a concurrent move: only the children that move took along follow it (Op.adoptOnly).
      if (op.adopt) await ctx.adopt(op, op.adopt.versionColumn);
      continue;
    }
    if (!op.movedAway) {
      kept.push(op);
      continue;
    }
    if ((await abandonMovedChildren(ctx.session, op, op.movedAway.versionColumn, ctx.waiting.local)) === 0) continue;
    const { versionColumn, conflicts } = ctx.collisions(op);
    conflicts.record({ incoming: op.incoming, reason: 'fk-children-removed', decision: 'applied', local: null, versionColumn });
  }
  ops.splice(0, ops.length, ...kept);
}

/**
 * The deletes of rows not here of tables with foreign keys (Op.waitingGone, fk-waiting.ts
 * dropWaitingStatement): the key's older waiting images go, then a row a sweep placed meanwhile, not
 * newer than the delete, is deleted as an ordinary delete (its cascades, tombstones and refusing
 * children as for any); the others are taken out of `ops`. One round trip for the batch: each key's
 * DELETE from fk_waiting, then its locked read, in order. (Done whether or not this process stashed a
 * child: a sweep may run in another one — a bootstrap's, a quarantine retry's.)
 */
async function dropWaiting(ctx: PrepassContext, ops: Op[]): Promise<void> {
  if (!ops.some((op) => op.waitingGone)) return;
  const gone = ops.filter((op) => op.waitingGone && op.incoming.change.version);
  const statements = gone.flatMap((op) => {
    const { change } = op.incoming;
    return [dropWaitingStatement(change.schema, change.table, change.key, change.version as string), rowAtStatement(op)];
  });
  const results = statements.length > 0 ? await ctx.session.roundTrip(statements) : [];
  const placed = new Map<Op, Row>();
  gone.forEach((op, i) => {
    const row = rowOf(results[2 * i + 1], op);
    const versionColumn = op.waitingGone!.versionColumn;
    const version = row ? versionOf(row[versionColumn], typeOf(op.info.columnTypes, versionColumn)) : undefined;
    if (row && version !== undefined && compareVersions(version, op.incoming.change.version as string) <= 0) placed.set(op, row);
  });
  const kept: Op[] = [];
  for (const op of ops) {
    if (!op.waitingGone) kept.push(op);
    else {
      const row = placed.get(op);
      const { waitingGone: _, ...plain } = op;
      if (row) kept.push({ ...plain, image: row });
    }
  }
  ops.splice(0, ops.length, ...kept);
}

/** Rewrites carrying a lost delete's orphans (Op.orphans) whose row here moved in after the delete: taken out of `ops`. */
async function keepMovedIn(ctx: PrepassContext, ops: Op[]): Promise<void> {
  if (!ops.some((op) => op.orphans)) return;
  const kept: Op[] = [];
  for (const op of ops) {
    const { change } = op.incoming;
    if (op.orphans && change.version && (await movedInSince(ctx.session, change.schema, change.table, change.key, change.version, ctx.waiting.local))) continue;
    kept.push(op);
  }
  ops.splice(0, ops.length, ...kept);
}

/**
 * Writes of children whose parent has a delete tombstone newer than them (fk-cascade.ts): as the
 * parent's ON DELETE action leaves them — written with NULL references (SET NULL), or not at all (an
 * update deletes the local row), with a tombstone of DRC's removal.
 */
async function dropOlderThanParentDeletes(ctx: PrepassContext, ops: Op[], tombstones: Tombstone[]): Promise<void> {
  const older = await olderThanParentDeletes(ctx.session, ctx.waiting, ops);
  if (older.size === 0) return;
  const kept: Op[] = [];
  for (const [i, op] of ops.entries()) {
    const fks = older.get(i);
    if (!fks) {
      kept.push(op);
      continue;
    }
    const { versionColumn, conflicts } = ctx.collisions(op);
    const outcome = childOutcome(fks);
    conflicts.record({ incoming: op.incoming, reason: 'fk-parent-missing', decision: outcome === 'set-null' ? 'applied' : 'skipped', local: null, versionColumn });
    if (outcome === 'set-null') {
      kept.push({ ...op, image: withNullReferences(op.image, fks) });
      continue;
    }
    if (op.kind === 'update') kept.push({ ...op, kind: 'delete', image: op.incoming.change.before ?? op.image });
    const { change } = op.incoming;
    tombstones.push({ schema: change.schema, table: change.table, key: change.key, version: change.version as string, origin: REMOVAL_ORIGIN, identity: keyIdentityOf(op.info.columnMeta, op.info.columnTypes) });
  }
  ops.splice(0, ops.length, ...kept);
}
