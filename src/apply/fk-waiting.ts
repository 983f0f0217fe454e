/**
 * Children newer than their parent's delete wait for the parent to come back (issue 13).
 *
 * b deletes parent P (version d) while a writes child C under P (version c > d, by the clocks: a had
 * not seen the delete yet), and then P is written again (re-inserted, or updated by a newer write that
 * re-creates it). Where P is back before C arrives, C is written under it; where C arrives while P is
 * missing (deleted, tombstone older than C), or C is here and the delete's cascade would remove it,
 * C would be lost — and the ezones would part on the order of arrival alone.
 *
 * The rule: **a child newer than the delete of its parent waits for the parent** in
 * `drc_meta.fk_waiting` (its image and version) instead of being dropped: a child write finding its
 * parent missing with a delete tombstone older than it, and a child here newer than a remote parent
 * delete that wins (stashed before the delete, which then removes it as its cascade / RESTRICT rule
 * says). After every target transaction's writes, waiting children whose parent is back are written
 * (`fk-parent-missing`, applied), unless their key has been written or deleted since by a newer
 * change. So C ends under P in every ezone where P is back, whatever the order; where P never comes
 * back, C never lands anywhere. Older children than the delete still go with it (fk-conflict.ts).
 *
 * Bounded: a sweep runs at most once a second per target ezone and tries at most PLACE_PER_TRANSACTION
 * children, the longest untried first (a child still missing its parent goes to the back, so none
 * starves the others); a waiting child expires with the tombstones (apply.tombstoneRetention,
 * purgeWaitingStatement); and one that this ezone cannot write for another reason (a schema changed
 * since, a value it rejects) is dropped and counted, never retried by every transaction for ever.
 */
import type mysql from 'mysql2/promise';
import type { PipelinedSession } from '../db/pipelined-session.js';
import { quoteId, tableRef, type DeferredStatement, type Statement } from '../db/sql.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { decodeQueryRow, exactSelect, typeOf } from '../model/types/row.js';
import { fromWire, type Row } from '../model/value.js';
import { compareVersions, versionOf } from '../model/version.js';
import { findTombstonesStatement, LOSER_ORIGIN, recordTombstonesStatements, tombstonesByOrigin, type Tombstone } from '../db/tombstones.js';
import { ConflictLog } from './conflict-log.js';
import { findClaims, lockClaims, LOOKUP_COLUMN, recordClaimsStatement, valueWeights, weightColumn } from './sql/claims.js';
import { resolveUniqueCollision } from './unique-collision.js';
import { rankOfStored, valuesOf, weightedColumns, weightsOfImage } from './unique-claims-state.js';
import { compareRanks, justBelow, rankOf, type ClaimRecord } from './unique-claims.js';
import type { Op } from './types.js';
import { classifyMysqlError, errnoOf, isDeadlock, isForeignKeyNoParent, isDuplicateKey } from '../db/mysql-errors.js';
import { CaptureBehindError } from '../errors.js';
import { compareImages } from '../model/types/order.js';
import { deletedSince, followMoves } from './fk-conflict.js';
import { removedChildren, type WaitingChild } from './fk-children.js';
import { dataTypeOf, type FkContext } from './fk-parents.js';
import { tombstoneIdentity } from './keys.js';
import { readCovered, type LocalCoverage } from './coverage.js';
import { deleteRow, insertRows, updateRow } from './sql/rows.js';
import type { TableInfo } from './table-cache.js';

/** How long a sweep waits for local capture before a child's tombstones decide (superseded); beyond, the child waits for a later sweep. */
const SWEEP_COVERAGE_MS = 2_000;

/** Waiting children placed per target transaction (the rest wait for the next one). */
const PLACE_PER_TRANSACTION = 20;

/**
 * Per target ezone (one daemon writes one ezone; several in one process in tests): whether a child
 * may be waiting — set when one is stashed (and by the daemon at start, expectWaitingChildren: some
 * may wait from before), cleared when a sweep finds none —, when one was last stashed (a sweep finding
 * none clears the flag only well after it: a stash not committed yet, another worker's, is invisible
 * to it, and skipped when locked), and when the last sweep ran. Every applier writing the ezone sweeps
 * while the flag is set, so a parent brought back by any stream (or, within a second, by a local
 * write) places its children.
 */
interface SweepState {
  maybeWaiting: boolean;
  lastStashAt: number;
  lastSweepAt: number;
}
const sweeps = new Map<string, SweepState>();
const CLEAR_AFTER_MS = 30_000;
/** At most one sweep per this interval per target ezone (a parent brought back places its children within it). */
const SWEEP_EVERY_MS = 1000;

function sweepOf(ezone: string): SweepState {
  let state = sweeps.get(ezone);
  if (!state) sweeps.set(ezone, (state = { maybeWaiting: false, lastStashAt: 0, lastSweepAt: 0 }));
  return state;
}

/** Children may be waiting in `ezone` from an earlier run: the next target transaction looks. */
export function expectWaitingChildren(ezone: string): void {
  sweepOf(ezone).maybeWaiting = true;
}

/** Stash a child in `ezone` (keeps the newest version per key). */
export function stashStatement(ezone: string, c: WaitingChild): Statement {
  const state = sweepOf(ezone);
  state.maybeWaiting = true;
  state.lastStashAt = Date.now();
  const keyJson = canonicalKey(c.key);
  return {
    sql: `INSERT INTO drc_meta.fk_waiting (schema_name, table_name, key_hash, key_json, version, image, waiting_at, stashed_at)
      VALUES (?, ?, UNHEX(SHA2(?, 256)), ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
      ON DUPLICATE KEY UPDATE image = IF(VALUES(version) >= version, VALUES(image), image), version = GREATEST(version, VALUES(version)), stashed_at = VALUES(stashed_at)`,
    params: [c.schema, c.table, keyJson, keyJson, c.version, JSON.stringify({ key: c.key, image: c.image, ...(c.origin ? { origin: c.origin } : {}), ...(c.txId ? { txId: c.txId } : {}) })],
  };
}

/**
 * A delete that found no row at its key (Op.waitingGone), of a table with foreign keys: its row may be a
 * child waiting here, or one a sweep (placeWaiting) is placing now — the delete's tombstone, not
 * committed yet, is not seen by the sweep's check (superseded), and the delete's read saw no row. So
 * the key's waiting images not newer than the delete go first (a tie is the delete's, as in
 * resolver.ts): that takes the entry's lock, which a sweep holds (FOR UPDATE) until it commits. The
 * caller then reads the row at the key again (a sweep may have placed it meanwhile) and deletes it
 * through the ordinary delete path when it is not newer. A sweep that comes after skips the locked
 * entry (SKIP LOCKED) and, once this commits, finds none. Not covered: a child stashed by another
 * stream after this ran and placed before this commits (no entry to lock yet).
 */
export function dropWaitingStatement(schema: string, table: string, key: Row, version: string): Statement {
  return { sql: 'DELETE FROM drc_meta.fk_waiting WHERE schema_name = ? AND table_name = ? AND key_hash = UNHEX(SHA2(?, 256)) AND version <= ?', params: [schema, table, canonicalKey(key), version] };
}

/** Waiting children older than the retention (the tombstones'), a bounded number at a time. */
export function purgeWaitingStatement(retentionMs: number, limit = 5000): Statement {
  return { sql: 'DELETE FROM drc_meta.fk_waiting WHERE stashed_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND LIMIT ?', params: [retentionMs * 1000, limit] };
}

export interface Placement {
  /** With `replaced`: the older row at its key the child's image replaced (the conflict's local row). */
  placed: (WaitingChild & { replaced?: Row })[];
  /** Children this ezone refused for another reason than a missing parent: dropped (their tables, for the log). */
  dropped: { schema: string; table: string; errno: number | undefined }[];
}

/**
 * Write the waiting children whose parent is back (each at a savepoint: one still missing its parent
 * stays, tried again after the others). A child whose key holds a row now not older than it, or has
 * a tombstone newer than it, was written or deleted since: it waits no more; an older row at its key
 * (a bootstrap's copy, a write from an ezone that had not seen it) is replaced by its image. Returns
 * the children placed and dropped.
 */
export async function placeWaiting(ezone: string, session: PipelinedSession, ctx: FkContext, now = Date.now(), conflicts: ConflictLog = new ConflictLog(ezone)): Promise<Placement> {
  const { tables } = ctx;
  const none: Placement = { placed: [], dropped: [] };
  const state = sweepOf(ezone);
  if (!state.maybeWaiting || now - state.lastSweepAt < SWEEP_EVERY_MS) return none;
  state.lastSweepAt = now;
  const [rows] = (await session.roundTrip([{ sql: `SELECT schema_name, table_name, key_json, version, image FROM drc_meta.fk_waiting ORDER BY waiting_at LIMIT ${PLACE_PER_TRANSACTION} FOR UPDATE SKIP LOCKED`, params: [] }])) as [mysql.RowDataPacket[]];
  if (rows.length === 0) {
    if (now - state.lastStashAt > CLEAR_AFTER_MS) state.maybeWaiting = false;
    return none;
  }
  const { placed, dropped } = { placed: [] as Placement['placed'], dropped: [] as Placement['dropped'] };
  for (const r of rows) {
    const { key, image, origin, txId } = JSON.parse(String(r.image)) as { key: Row; image: Row; origin?: string; txId?: string };
    const stashed: WaitingChild = { schema: String(r.schema_name), table: String(r.table_name), key, version: String(r.version), image, ...(origin ? { origin } : {}), ...(txId ? { txId } : {}) };
    const where = 'schema_name = ? AND table_name = ? AND key_hash = UNHEX(SHA2(?, 256))';
    const params = [stashed.schema, stashed.table, String(r.key_json)];
    const done: Statement = { sql: `DELETE FROM drc_meta.fk_waiting WHERE ${where}`, params };
    const later: Statement = { sql: `UPDATE drc_meta.fk_waiting SET waiting_at = UTC_TIMESTAMP(6) WHERE ${where}`, params };
    const info = await tables.get(stashed.schema, stashed.table);
    // Superseded: written or deleted since by a write not older than it, or its parent deleted again since (that delete removed it everywhere).
    const here = info ? await superseded(session, info, stashed, ctx.versionColumnOf(stashed.schema, stashed.table), ctx.local) : true;
    if (here === 'later') {
      await session.roundTrip([later]); // local capture behind: decided by a later sweep, the stream not held
      continue;
    }
    const childType = dataTypeOf(info ?? undefined, ctx.versionColumnOf(stashed.schema, stashed.table));
    if (!info || here === true || (await deletedSince(session, ctx, info.foreignKeys ?? [], stashed.image, stashed.version, childType))) {
      await session.roundTrip([done]);
      continue;
    }
    // Its parent came back and its key changed since (b re-inserts 18 and moves it to 16 in one
    // transaction): the child follows, as the key change's cascade moved it where it had been placed in
    // between — or goes, when the parent was deleted at its new key since the move.
    const moved = await followMoves(session, tables, info.foreignKeys ?? [], stashed.image, info.primaryKey);
    // Deleted at its new key since the move and since the child (a delete of that key before the move was of another row).
    const movedSince = moved && BigInt(moved.version) > BigInt(stashed.version) ? moved.version : stashed.version;
    if (moved && (await deletedSince(session, ctx, info.foreignKeys ?? [], moved.image, movedSince, childType))) {
      await session.roundTrip([done]);
      continue;
    }
    const child: WaitingChild = moved ? { ...stashed, image: moved.image } : stashed;
    // An older row at its key (a bootstrap's copy of it, a write from an ezone that had not seen this
    // one): the waiting image replaces it, as it would have had it arrived after that row.
    // The replacing UPDATE must touch the row superseded() read and locked (never 0 rows: the child lost with its waiting row deleted).
    const write: DeferredStatement = here === false ? insertRows(child.schema, child.table, [child.image], info) : { ...updateRow(child.schema, child.table, info.primaryKey, child.key, child.image, info), check: touchingOneRow };
    const versionColumn = ctx.versionColumnOf(child.schema, child.table);
    // A recorded claim of one of its unique values newer than it (an image that held or tried to hold
    // the value and is gone since): it loses, as where it arrived in order (unique-claims.ts) — skipped,
    // its key tombstoned just below its version, the older row at its key removed with it.
    if (await losesToRecordedClaim(session, info, versionColumn, child)) {
      const tombstones: Tombstone[] = [{ schema: child.schema, table: child.table, key: child.key, version: justBelow(child.version) as string, origin: LOSER_ORIGIN, identity: tombstoneIdentity(info) }];
      if (here !== false) {
        const removed = await removedChildren(session, ctx, info.referencedBy ?? [], here, { origin: ezone, txId: child.txId ?? '' });
        if (removed.children.length > 0) await session.roundTrip(removed.children.map((w) => stashStatement(ezone, w)));
        tombstones.push(...removed.tombstones);
        const del: DeferredStatement = { ...deleteRow(child.schema, child.table, info.primaryKey, child.key), check: touchingOneRow };
        await session.roundTrip([del]);
      }
      await session.roundTrip([...recordTombstonesStatements('applied_tombstones', tombstones), done]);
      await recordClaims(session, info, versionColumn, child, here === false ? [] : [here]);
      conflicts.record({ incoming: placingOp(info, child, here === false ? null : here).incoming, reason: 'unique-collision', decision: 'skipped', local: here === false ? null : here, versionColumn });
      continue;
    }
    try {
      await session.roundTrip([{ sql: 'SAVEPOINT drc_waiting', params: [] }, write, done]);
      placed.push(here === false ? child : { ...child, replaced: here });
      await recordClaims(session, info, versionColumn, child, here === false ? [] : [here]);
    } catch (err) {
      await backToSavepoint(session, err);
      if (isForeignKeyNoParent(err)) await session.roundTrip([later]); // the parent is not back yet: after the others
      else if (isDuplicateKey(err)) {
        // Its key is locked and held by the row superseded() read (or by none): another row holds one of
        // its unique values. Rule 5 as on the apply path's write (unique-collision.ts): the newer image
        // wins, the loser is removed (its children waiting for it) with its tombstone — an older holder
        // goes, as where the waiting image arrived in order; a newer holder keeps its value, and the
        // image loses with the older row at its key. A duplicate primary key (a row inserted at the key
        // since: no lock covers a missing row) is thrown, retryable: the next sweep sees that row.
        const op = placingOp(info, child, here === false ? null : here);
        const tombstones: Tombstone[] = [];
        const removedRows: Row[] = [];
        const removing = async (loser: Row) => {
          removedRows.push(loser);
          const removed = await removedChildren(session, ctx, info.referencedBy ?? [], loser, { origin: ezone, txId: child.txId ?? '' });
          if (removed.children.length > 0) await session.roundTrip(removed.children.map((w) => stashStatement(ezone, w)));
          tombstones.push(...removed.tombstones);
        };
        const wins = await resolveUniqueCollision({ session, ezone, versionColumn, conflicts }, op, tombstones, undefined, removing);
        if (wins) {
          await session.roundTrip([{ ...write }, done]); // a second collision is thrown: the transaction retries
          placed.push(here === false ? child : { ...child, replaced: here });
        } else await session.roundTrip([done]);
        if (tombstones.length > 0) await session.roundTrip(recordTombstonesStatements('applied_tombstones', tombstones));
        await recordClaims(session, info, versionColumn, child, [...(here === false || !wins ? [] : [here]), ...removedRows]);
      } else if (classifyMysqlError(err)?.retryable ?? true) throw err; // a deadlock, a lost connection: the transaction retries
      else {
        // This ezone rejects the image itself (a column altered since it was stashed, a value out of range):
        // retrying it in every transaction would stall every stream; dropped and reported instead.
        await session.roundTrip([done]);
        dropped.push({ schema: child.schema, table: child.table, errno: (err as { errno?: number }).errno });
      }
    }
  }
  return { placed, dropped };
}

/**
 * Back to the savepoint before a waiting child's write failed with `err`. A deadlock, or a lock wait
 * timeout under innodb_rollback_on_timeout, rolled back the whole transaction and its savepoints with
 * it: the server would answer the ROLLBACK TO SAVEPOINT with errno 1305 (savepoint does not exist),
 * hiding the real error and its classification (transient: the transaction retries). The write's own
 * error is thrown then.
 */
export async function backToSavepoint(session: PipelinedSession, err: unknown): Promise<void> {
  if (isDeadlock(err)) throw err;
  try {
    await session.roundTrip([{ sql: 'ROLLBACK TO SAVEPOINT drc_waiting', params: [] }]);
  } catch (rollbackErr) {
    if (errnoOf(rollbackErr) === SAVEPOINT_DOES_NOT_EXIST) throw err;
    throw rollbackErr;
  }
}
const SAVEPOINT_DOES_NOT_EXIST = 1305;

/** The check of a write of the row superseded() read and locked (a replacing UPDATE, a loser's DELETE): exactly one row matched (mysql2 sets CLIENT_FOUND_ROWS). */
function touchingOneRow(result: unknown): void {
  const n = (result as mysql.ResultSetHeader).affectedRows;
  if (n !== 1) throw new Error(`a waiting child's write of the row at its key touched ${n} rows, not 1`);
}

/** The waiting child's write as the apply path's Op (unique-collision.ts): an update of the older row at its key, or an insert. */
function placingOp(info: TableInfo, child: WaitingChild, replaced: Row | null): Op {
  const kind = replaced === null ? ('insert' as const) : ('update' as const);
  const change = { schema: child.schema, table: child.table, op: kind, key: child.key, after: child.image, ...(replaced ? { before: replaced } : {}), version: child.version };
  return { kind, info, incoming: { change, origin: child.origin ?? '', txId: child.txId ?? '' }, key: child.key, image: child.image };
}

/**
 * The unique-value claims a placement makes (unique-claims.ts): the placed image's, whatever happened,
 * and those of every row that stopped holding its values here (the older row it replaced, the losers
 * removed for it). Only for a table with unique keys and a version column.
 */
async function recordClaims(session: PipelinedSession, info: TableInfo, versionColumn: string | null, child: WaitingChild, released: Row[]): Promise<void> {
  if (versionColumn === null || info.uniqueKeys.length === 0) return;
  const statement = recordClaimsStatement(await claimsOf(session, info, versionColumn, child, released));
  if (statement) await session.roundTrip([statement]);
}

/** Whether a recorded claim (drc_meta.unique_claims, local_claims) of one of the child's unique values is newer than its image; its claims locked first (sql/claims.ts lockClaims). */
async function losesToRecordedClaim(session: PipelinedSession, info: TableInfo, versionColumn: string | null, child: WaitingChild): Promise<boolean> {
  if (versionColumn === null || info.uniqueKeys.length === 0) return false;
  const ids = [...new Set((await claimsOf(session, info, versionColumn, child, [])).map((c) => c.id))];
  if (ids.length === 0) return false;
  const [, found] = (await session.roundTrip([lockClaims(ids), findClaims(ids)])) as [unknown, mysql.RowDataPacket[]];
  const rank = rankOf(child.version, child.image, info.columnTypes);
  return found.some((r) => compareRanks(rankOfStored(r), rank) > 0);
}

/** The claims of the child's image (first) and of `released` rows. */
async function claimsOf(session: PipelinedSession, info: TableInfo, versionColumn: string, child: WaitingChild, released: Row[]): Promise<ClaimRecord[]> {
  const images = [child.image, ...released];
  const weighted = weightedColumns(info);
  const weights = new Map<number, mysql.RowDataPacket>();
  if (weighted.length > 0) {
    const [rows] = (await session.roundTrip([valueWeights(images.map((image) => ({ values: image, columns: weightsOfImage(weighted, image) })), info)])) as [mysql.RowDataPacket[]];
    for (const r of rows) weights.set(Number(r[LOOKUP_COLUMN]), r);
  }
  const claims: ClaimRecord[] = [];
  images.forEach((image, j) => {
    const w = weights.get(j);
    const version = j === 0 ? child.version : versionOf(image[versionColumn], typeOf(info.columnTypes, versionColumn));
    const rank = rankOf(version, image, info.columnTypes);
    const key = Object.fromEntries(info.primaryKey.map((c) => [c, image[c] ?? null]));
    for (const v of valuesOf(child.schema, child.table, info, image, (c, p) => (w?.[weightColumn(c, p)] == null ? undefined : String(w[weightColumn(c, p)])))) {
      claims.push({ id: v.id, schema: child.schema, table: child.table, columns: v.columns, rank, key, origin: child.origin ?? '' });
    }
  });
  return claims;
}

/**
 * Whether the waiting child is superseded here: a tombstone of its key newer than it (deleted since),
 * or a row at its key not older than it by the table's version rule (resolver.ts compareImages:
 * version, then the tie-break on the images; a table without a version column: any row). Returns
 * true, `false` when the key holds nothing, or the older row (a bootstrap's copy of it, a write of an
 * ezone that had not seen the waiting one), which the waiting image replaces.
 *
 * A local delete of its key is capture's to record (a tombstone behind the binlog): with `local`
 * coverage (an applier), the binlog position is read with the locked row and the tombstones only once
 * local capture has passed it (coverage.ts) — a child this ezone wrote and deleted since it was set
 * aside, while capture was behind (a daemon restarting), is not placed again (traced in the randomized
 * test, 2 ezones, the daemon SIGKILLed: child 46 back in b alone). Capture further behind than
 * SWEEP_COVERAGE_MS: 'later' — the child waits for a later sweep; a sweep never holds the stream for
 * capture (while capture is stopped, every transaction would wait and fail).
 */
async function superseded(session: PipelinedSession, info: TableInfo, child: WaitingChild, versionColumn: string | null, local?: LocalCoverage): Promise<boolean | Row | 'later'> {
  const where = info.primaryKey.map((c) => `${quoteId(c)} <=> ?`).join(' AND ');
  const identity = tombstoneIdentity(info);
  const cols = (info.columnMeta ?? []).map((m) => m.name).filter((n): n is string => n !== undefined);
  const select = cols.length > 0 ? exactSelect(cols, info.columnTypes, quoteId) : '*';
  // Locked (FOR UPDATE), as the apply path reads its rows (sql/rows.ts): a newer write at the key not
  // committed yet is waited for and then seen, never overwritten by the older waiting image.
  const read: Statement = { sql: `SELECT ${select} FROM ${tableRef(child.schema, child.table)} WHERE ${where} LIMIT 1 FOR UPDATE`, params: info.primaryKey.map((c) => fromWire(child.key[c] ?? null)) };
  let row: mysql.RowDataPacket[];
  try {
    [row] = (await readCovered(session, [read], local, SWEEP_COVERAGE_MS)) as [mysql.RowDataPacket[]];
  } catch (err) {
    if (err instanceof CaptureBehindError) return 'later';
    throw err;
  }
  const [stones] = (await session.roundTrip([findTombstonesStatement(child.schema, child.table, [child.key], identity)])) as [mysql.RowDataPacket[]];
  // Deleted since by a delete newer than it: superseded, whatever row is at its key now (a chunk of a
  // bootstrap's copy may have written an older one after the delete left only its tombstone).
  if ((tombstonesByOrigin(stones, 1)[0] ?? []).some((m) => compareVersions(m.version, child.version) > 0)) return true;
  if (row.length > 0) {
    if (versionColumn === null) return true;
    const local = decodeQueryRow(row[0] as Record<string, unknown>, info.columnTypes);
    const localVersion = versionOf(local[versionColumn], typeOf(info.columnTypes, versionColumn));
    return compareImages(child.version, child.image, localVersion, local, info.columnTypes) > 0 ? local : true;
  }
  return false;
}
