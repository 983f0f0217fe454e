/**
 * Runs the writes decided for a batch, in order, in as few round trips as their size allows:
 * consecutive inserts into one table with the same columns go as one multi-row INSERT. The writes
 * start at a savepoint; a duplicate key anywhere rolls them back to it and replays them one by one,
 * resolving unique-key collisions (rule 5) on the way.
 *
 * An UPDATE or DELETE by key must touch exactly one row (the decisions read it, locked): one that
 * touches none means the row is not what was read, and is decided by the rules on the replay (an
 * update of a missing row applies the full image, a delete of one is a conflict), never ignored.
 * Generated columns are never written (sql/rows.ts).
 */
import { bySize, type PipelinedSession } from '../db/pipelined-session.js';
import { keyIdentityOf } from '../db/key-identity.js';
import { REMOVAL_ORIGIN, type Tombstone } from '../db/tombstones.js';
import { errnoOf, isDuplicateKey, isForeignKeyHasChildren, isForeignKeyNoParent } from '../db/mysql-errors.js';
import { RetryableApplyError, SchemaMismatchError } from '../errors.js';
import { bootstrapCopying } from '../db/bootstrap-progress.js';
import { COPY_ORIGIN } from './copy-marker.js';
import { childOutcome, deletedBefore, MAX_MOVES, missingParents, movedParents, parentImageOf, parentsDeleted, queryVia, referencing, refusing, removeChildren, removeRefusing, withNullReferences } from './fk-conflict.js';
import { adoptMovedChildren, removeOlder, rowExists, undoAdoption, type Adoption } from './fk-adopt.js';
import { stashStatement } from './fk-waiting.js';
import { newerChildren, removedChildren } from './fk-children.js';
import { childBound, dataTypeOf, movedInBatch, parentRef, parentWrittenLater, type FkContext } from './fk-parents.js';
import { cascadeTombstones } from './fk-cascade.js';
import { rowAt, settleByForeignKeys } from './fk-prepass.js';
import { inTable, relaxed, RESTORE_SESSION, ROLLBACK_TO_SAVEPOINT, RowNotFoundError, SAVEPOINT, statementOf, statementsOf, writeStatements } from './write-statements.js';
import { resolveUniqueCollision, type CollisionContext } from './unique-collision.js';
import type { IncomingChange, Op } from './types.js';
import type { ForeignKey } from '../db/table-keys.js';
import type { Row } from '../model/value.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { Logger } from '../ops/logger.js';
import type { ConflictRecord } from './sql/meta.js';

export class WriteBatcher {
  /** Children moved for a change of this batch (fk-adopt.ts), until its write is done or loses; by the change (a write retried as another kind keeps it). */
  private readonly adoptions = new Map<IncomingChange, { op: Op; adoption: Adoption; record: ConflictRecord | undefined }>();
  /** While replay() writes one by one: the writes, the one being written, and the child writes put after a later one. */
  /** A replay under way: its writes, the one being written, the writes put after each (deferToParent, followInReplay) with how many moves each has followed, and the changes postponed once. */
  private replaying: { ops: Op[]; at: number; after: Map<number, Op[]>; moves: Map<Op, number>; postponed: Set<IncomingChange> } | undefined;

  constructor(
    private readonly session: PipelinedSession,
    private readonly collisions: (op: Op) => CollisionContext,
    /** Where children that wait for a deleted parent (fk-waiting.ts) wait: the ezone written; the tables' info and version columns (fk-parents.ts). */
    private readonly waiting: FkContext & { ezone: string; log?: Pick<Logger, 'warn'> },
  ) {}

  /**
   * Execute the writes. With `atCommit`, inserts that fit one round trip are deferred instead, to go
   * with the commit (which then calls `replay` if they collide); returns whether they were. Updates
   * and deletes always go in a round trip of their own: their row counts are checked before COMMIT.
   */
  async write(ops: Op[], tombstones: Tombstone[], atCommit: boolean): Promise<boolean> {
    if (ops.length === 0) return false;
    this.adoptions.clear();
    // Writes a foreign-key rule settles before anything is written (fk-prepass.ts).
    await settleByForeignKeys({ session: this.session, collisions: this.collisions, waiting: this.waiting, adopt: (op, versionColumn) => this.adopt(op, versionColumn) }, ops, tombstones);
    if (ops.length === 0) return false;
    // Before anything else is written (a claim's loser may be the older destination): fk-adopt.ts.
    for (const op of ops) if (op.adopt) await this.adopt(op, op.adopt.versionColumn);
    this.session.defer(SAVEPOINT);
    // Inserts into a child table may meet a missing parent (fk-conflict.ts): they go in a round trip of their own.
    // (Not with adopted children: whether their new parent was written is checked after the writes.)
    if (atCommit && this.adoptions.size === 0 && ops.every((op) => op.kind === 'insert' && !op.info.foreignKeys?.length) && !ops.some(relaxed)) {
      const parts = bySize(writeStatements(ops));
      if (parts.length === 1) {
        this.session.defer(...parts[0]!);
        return true;
      }
    }
    // The tombstones of the cascades read below go with the writes if they are rolled back for a replay (which reads them again).
    const mark = tombstones.length;
    try {
      let done = 0;
      for (const segment of atParentDeletes(ops)) {
        if (deletesParent(segment[0]!)) await this.beforeParentDelete(segment[0]!, tombstones, ops.slice(0, done));
        for (const part of bySize(writeStatements(segment))) await this.session.roundTrip(part);
        done += segment.length;
      }
    } catch (err) {
      if (ops.some(relaxed)) await this.session.roundTrip(RESTORE_SESSION);
      if (!isDuplicateKey(err) && !(err instanceof RowNotFoundError) && !isForeignKeyNoParent(err) && !isForeignKeyHasChildren(err)) throw inTable(err, ops);
      tombstones.length = mark;
      await this.replay(ops, tombstones);
      return false;
    }
    await this.undoUnwritten();
    return false;
  }

  /**
   * A parent's delete about to run, after `before`, the writes of the batch before it (a child one of
   * them inserted or updated under this parent is read as it is then, not as it was before the batch:
   * traced in the randomized test, 3 ezones, a daemon killed — an item updated earlier in the batch was
   * set aside with its older image, one inserted earlier not at all): its children newer than it wait
   * for the parent (fk-waiting.ts), and what its cascades will remove, at every level, keeps the
   * delete's tombstone (fk-cascade.ts).
   */
  private async beforeParentDelete(op: Op, tombstones: Tombstone[], before: readonly Op[]): Promise<void> {
    await this.stashNewerChildren(op, tombstones, before);
    tombstones.push(...(await cascadeTombstones(this.session, this.waiting, op)));
  }

  /** Children adopted for a row that, the writes done, is not here (dropped for a missing parent, lost a collision): back (fk-adopt.ts undoAdoption). */
  private async undoUnwritten(): Promise<void> {
    for (const { op, adoption } of [...this.adoptions.values()]) if (!(await rowExists(this.session, op, adoption.to))) await this.undoAdoption(op);
  }

  /** The incoming row lost its unique collision: children adopted for it go back (fk-adopt.ts undoAdoption). */
  private async undoAdoption(op: Op): Promise<void> {
    const adopted = this.adoptions.get(op.incoming);
    if (!adopted) return;
    this.adoptions.delete(op.incoming);
    await undoAdoption(this.session, op, adopted.adoption);
    // Nothing was adopted in the end: the conflict says so.
    if (adopted.record) adopted.record.decision = 'skipped';
  }

  /** Children an older concurrent key change of the same row took along follow this one (fk-adopt.ts): a conflict. */
  private async adopt(op: Op, versionColumn: string): Promise<void> {
    const adoption = await adoptMovedChildren(this.session, this.waiting.tables, op, versionColumn, this.waiting.local);
    if (!adoption) return;
    const { conflicts } = this.collisions(op);
    const record = conflicts.record({ incoming: op.incoming, reason: 'fk-parent-moved', decision: 'applied', local: null, versionColumn });
    this.adoptions.set(op.incoming, { op, adoption, record });
  }

  /**
   * A parent delete about to run: its children newer than it wait for the parent to come back
   * (fk-waiting.ts) — all of them, at every level, when it is DRC's removal of a unique loser.
   */
  private async stashNewerChildren(op: Op, tombstones: Tombstone[], before: readonly Op[]): Promise<void> {
    if (op.removal) return this.stashRemovedChildren(op.info.referencedBy ?? [], op.image, op.incoming, tombstones, op.removal.to);
    const { versionColumn } = this.collisions(op);
    const version = op.incoming.change.version;
    if (versionColumn === null || !version) return;
    // A bound of the children's version column (a time: ON UPDATE CURRENT_TIMESTAMP), only from a parent version that is a time too (fk-parents.ts).
    const bound = childBound(version, dataTypeOf(op.info, versionColumn), 'datetime');
    if (bound === undefined) return;
    // A child the batch wrote before the delete came from the delete's own origin (one stream per
    // batch), which had it when it deleted the parent: it goes with the delete, whatever its version
    // against the delete's (a time from capture's clock, to the millisecond) says.
    const waiting = (await newerChildren(this.session, this.waiting.tables, op.info.referencedBy ?? [], op.image, versionColumn, bound, { origin: this.waiting.ezone, txId: op.incoming.txId })).filter((c) => !wroteRow(before, c.schema, c.table, c.key));
    if (waiting.length > 0) await this.session.roundTrip(waiting.map((w) => stashStatement(this.waiting.ezone, w)));
  }

  /** A unique loser `parent` (its table referenced through `fks`) is about to be removed: every row its delete takes along waits for it (fk-waiting.ts removedChildren). */
  private async stashRemovedChildren(fks: ForeignKey[], parent: Row, incoming: IncomingChange, tombstones: Tombstone[], to?: Row): Promise<void> {
    if (fks.length === 0) return;
    const removed = await removedChildren(this.session, this.waiting, fks, parent, { origin: this.waiting.ezone, txId: incoming.txId }, to);
    if (removed.children.length > 0) await this.session.roundTrip(removed.children.map((w) => stashStatement(this.waiting.ezone, w)));
    tombstones.push(...removed.tombstones);
  }

  /** After a duplicate key: back to the savepoint, then the writes one by one. */
  async replay(ops: Op[], tombstones: Tombstone[]): Promise<void> {
    await this.session.exec(ROLLBACK_TO_SAVEPOINT);
    // Writes of children whose missing parent a later write re-creates go right after it (fk-parents.ts parentWrittenLater).
    const after = new Map<number, Op[]>();
    this.replaying = { ops, at: 0, after, moves: new Map(), postponed: new Set() };
    try {
      for (const [i, op] of ops.entries()) {
        this.replaying.at = i;
        if (deletesParent(op)) await this.beforeParentDelete(op, tombstones, ops.slice(0, i));
        await this.writeOne(op, tombstones);
        // A postponed write keeps the moves it followed: one whose parent is still missing goes by the rules, never a retry loop.
        for (const child of after.get(i) ?? []) await this.writeOne(child, tombstones, this.replaying.moves.get(child) ?? 0);
      }
    } finally {
      this.replaying = undefined;
    }
    await this.undoUnwritten();
  }

  /** A child write whose missing parents are all written later in the replay: put after the last of them (true), else false. */
  private async deferToParent(op: Op, missing: ForeignKey[], moves: number): Promise<boolean> {
    // Once per change: a postponed write that still misses its parent goes by the foreign-key rules (no loop).
    if (!this.replaying || this.replaying.postponed.has(op.incoming)) return false;
    const parents: { schema: string; table: string; key: Row }[] = [];
    for (const fk of missing) {
      const ref = await parentRef(this.waiting.tables, fk, op.image);
      if (!ref) return false;
      parents.push({ schema: fk.refSchema, table: fk.refTable, key: ref.key });
    }
    const { ops, at, after } = this.replaying;
    const j = parentWrittenLater(ops, at, op, parents, after);
    if (j === undefined) return false;
    // Pushed onto the list in place: a write put after one being written now still runs (a grandchild after its postponed parent).
    const list = after.get(j) ?? [];
    list.push(op);
    after.set(j, list);
    this.replaying.postponed.add(op.incoming);
    this.replaying.moves.set(op, moves);
    return true;
  }

  /**
   * A child write whose missing parents a later key change of the replay moves away (the child's origin
   * wrote it before, and its cascade moved it along): the child, its references where those key changes
   * take the row (fk-parents.ts movedInBatch; ON UPDATE CASCADE: the new key, SET NULL: NULL), is put
   * after the last of them (true); false when a missing parent is not moved later in the replay.
   */
  private async followInReplay(op: Op, missing: ForeignKey[]): Promise<boolean> {
    if (!this.replaying || this.replaying.postponed.has(op.incoming)) return false;
    const { ops, at, after } = this.replaying;
    const image = { ...op.image };
    let last = at;
    // Every parent the batch moves, not only the missing ones: the child is written once they all moved.
    for (const fk of referencing(op.info.foreignKeys ?? [], op.image)) {
      const ref = await parentRef(this.waiting.tables, fk, op.image);
      const moved = ref ? movedInBatch(ops, at, { schema: fk.refSchema, table: fk.refTable, key: ref.key }) : undefined;
      if (!moved && !missing.includes(fk)) continue;
      if (!moved || (fk.onUpdate !== 'CASCADE' && fk.onUpdate !== 'SET NULL')) return false;
      fk.columns.forEach((c, i) => {
        image[c] = fk.onUpdate === 'CASCADE' ? (moved.to[fk.refColumns[i] as string] ?? null) : null;
      });
      last = Math.max(last, moved.after);
    }
    // The child's own row written in between: not overtaken (as parentWrittenLater).
    if (op.info.primaryKey.some((c) => image[c] !== op.image[c]) || wroteRow(ops.slice(at + 1, last + 1).filter((o) => o !== op), op.incoming.change.schema, op.incoming.change.table, op.image)) return false;
    const child = { ...op, image };
    const { versionColumn, conflicts } = this.collisions(op);
    conflicts.record({ incoming: op.incoming, reason: 'fk-parent-moved', decision: 'applied', local: null, versionColumn });
    const list = after.get(last) ?? [];
    list.push(child);
    after.set(last, list);
    this.replaying.postponed.add(op.incoming);
    this.replaying.moves.set(child, 1);
    return true;
  }

  private async writeOne(op: Op, tombstones: Tombstone[], moves = 0): Promise<void> {
    const statements = statementsOf(op, statementOf(op));
    try {
      await this.session.roundTrip(statements);
    } catch (err) {
      // A failed write leaves its session switches on (the round trip stopped there): back to the apply session's own.
      if (relaxed(op)) await this.session.roundTrip(RESTORE_SESSION);
      if (err instanceof RowNotFoundError) return this.rowNotFound(op, tombstones);
      if (isForeignKeyNoParent(err) && op.kind !== 'delete') return this.parentMissing(op, tombstones, err, moves);
      if (isForeignKeyHasChildren(err) && op.kind !== 'insert') return this.childrenRefuse(op, tombstones, err);
      if (!isDuplicateKey(err) || op.kind === 'delete') throw inTable(err, [op]);
      // Lost: children adopted for it go back before its loser row (an update's own) is removed with its cascade.
      const removing = (loser: Row) => this.stashRemovedChildren(op.info.referencedBy ?? [], loser, op.incoming, tombstones);
      if (await resolveUniqueCollision(this.collisions(op), op, tombstones, () => this.undoAdoption(op), removing)) await this.session.roundTrip(statements);
    }
  }

  /**
   * The row of an UPDATE or DELETE by key is not here (DESIGN.md section 5): an update of a missing
   * row applies its full image (rule 3), a delete of one has nothing to remove (its tombstone is
   * recorded anyway, rule 4); both are conflicts.
   */
  private async rowNotFound(op: Op, tombstones: Tombstone[]): Promise<void> {
    const { versionColumn, conflicts } = this.collisions(op);
    const missing = op.kind === 'update' ? 'update-missing' : 'delete-missing';
    conflicts.record({ incoming: op.incoming, reason: missing, decision: op.kind === 'update' ? 'applied' : 'skipped', local: null, versionColumn });
    if (op.kind === 'update') await this.writeOne({ ...op, kind: 'insert' }, tombstones);
  }

  /**
   * A child's write found its parent missing here (fk-conflict.ts): the parent was deleted
   * concurrently, and the child ends as that delete's ON DELETE action leaves it — written with NULL
   * references (SET NULL), or removed (an insert skipped, the local row of an update deleted). A
   * parent whose key changed concurrently was not deleted: the child follows it to its new key
   * (fk-conflict.ts movedParents), as the key change's cascade moved it where it was already there.
   */
  private async parentMissing(op: Op, tombstones: Tombstone[], err: unknown, moves: number): Promise<void> {
    const missing = await missingParents(this.session, op.info.foreignKeys ?? [], op.image);
    if (missing.length === 0) throw unexplained(err, op, 'no missing parent');
    // Also after a move (moves > 0): the key change's new key may be written later in the batch.
    if (await this.deferToParent(op, missing, moves)) return;
    if (moves === 0 && (await this.followInReplay(op, missing))) return;
    const moved = moves < MAX_MOVES ? await movedParents(this.session, this.waiting.tables, missing, op.image, tombstones) : undefined;
    if (moved) {
      const { versionColumn, conflicts } = this.collisions(op);
      conflicts.record({ incoming: op.incoming, reason: 'fk-parent-moved', decision: 'applied', local: null, versionColumn });
      return this.writeOne({ ...op, image: moved.image }, tombstones, moves + 1);
    }
    // After a move (moves > 0) the destination may be missing with no tombstone of its own: the key
    // change's new half lost here (a newer claim, a removal). The parent was then deleted as far as this
    // ezone can tell, as the old key's tombstone said before the move was followed — never a retry
    // loop waiting for a parent that will not come.
    if (moves === 0 && !(await parentsDeleted(this.session, this.waiting.tables, missing, op.image, tombstones))) {
      const { schema, table, version } = op.incoming.change;
      // While `drc bootstrap` copies the parent table here, the parent may be one of the rows it has not
      // copied yet (written before DRC ran, in no stream): the child waits for it (fk-waiting.ts) instead
      // of holding the stream, whose lag would hold the copy. (The copy's own chunks retry: their parents
      // are copied first, and one inserted since is on the stream.)
      if (version && op.incoming.origin !== COPY_ORIGIN && (await bootstrapCopying(queryVia(this.session), this.waiting.ezone, missing.map((fk) => ({ schema: fk.refSchema, table: fk.refTable }))))) {
        // An update of the row in place leaves its local row as it is: decide() judged it older than the
        // update, and the waiting sweep replaces a row older than the waiting image (fk-waiting.ts) — its
        // children here, SET NULL ones included, are never touched. An update moving the row to another
        // key removes the row at the old key (the key it waits for is the new one, where the origin's row
        // is): no origin deleted it, so its own children here (every level) wait with it, as a unique
        // loser's do (fk-waiting.ts removedChildren) — through ON UPDATE CASCADE keys with their references
        // at the new key, where the origin's cascade moved them —, not lost to its cascade in TARGET alone.
        await this.stash(op, version);
        const { versionColumn, conflicts } = this.collisions(op);
        conflicts.record({ incoming: op.incoming, reason: 'fk-parent-missing', decision: 'skipped', local: null, versionColumn });
        if (op.kind === 'update' && movesKey(op)) {
          const local = (await rowAt(this.session, op)) ?? op.incoming.change.before ?? op.image;
          await this.stashRemovedChildren(op.info.referencedBy ?? [], local, op.incoming, tombstones, op.image);
          await this.writeOne({ ...op, kind: 'delete', image: local }, tombstones);
        }
        return;
      }
      throw new RetryableApplyError(`a parent of a row of ${schema}.${table} is not here yet (no tombstone: not deleted here); retrying`, err);
    }
    const { versionColumn, conflicts } = this.collisions(op);
    const outcome = childOutcome(missing);
    // Newer than its parent's delete: it waits for the parent to come back (fk-waiting.ts).
    const version = op.incoming.change.version;
    if (outcome === 'remove' && version && (await deletedBefore(this.session, this.waiting, missing, op.image, version, dataTypeOf(op.info, versionColumn), tombstones))) await this.stash(op, version);
    conflicts.record({ incoming: op.incoming, reason: 'fk-parent-missing', decision: outcome === 'set-null' ? 'applied' : 'skipped', local: null, versionColumn });
    if (outcome === 'set-null') return this.writeOne({ ...op, image: withNullReferences(op.image, missing) }, tombstones);
    if (op.kind === 'update') await this.writeOne({ ...op, kind: 'delete', image: op.incoming.change.before ?? op.image }, tombstones);
    // The removed child leaves a tombstone: its own children, arriving later, meet a deleted parent
    // (not one that has yet to arrive), and an older write of it cannot bring it back.
    const { change } = op.incoming;
    if (change.version) tombstones.push({ schema: change.schema, table: change.table, key: change.key, version: change.version, origin: REMOVAL_ORIGIN, identity: keyIdentityOf(op.info.columnMeta, op.info.columnTypes) });
  }

  /** The child's write set aside in fk_waiting until its parent comes (fk-waiting.ts). */
  private async stash(op: Op, version: string): Promise<void> {
    const { change } = op.incoming;
    await this.session.roundTrip([stashStatement(this.waiting.ezone, { schema: change.schema, table: change.table, key: change.key, version, image: op.image, origin: op.incoming.origin, txId: op.incoming.txId })]);
  }

  /**
   * A parent's delete or key change was refused by RESTRICT / NO ACTION children that exist only here
   * (written concurrently elsewhere; the parent's ezone skips them by the rule above): they are
   * removed, then the parent's write runs (fk-conflict.ts).
   */
  private async childrenRefuse(op: Op, tombstones: Tombstone[], err: unknown): Promise<void> {
    const referencedBy = op.info.referencedBy ?? [];
    // A parent delete that lost here: its orphans (the children older than it, fk-conflict.ts
    // orphanStatements) may have been refused by their own children — those go first, under the
    // orphans only. (A SET NULL orphan key refused by an ON UPDATE RESTRICT grandchild is not handled:
    // it pauses, named below.)
    if (op.orphans) {
      let refused = false;
      for (const fk of referencedBy) if (fk.onDelete !== 'SET NULL') refused = (await removeOlder(this.session, fk, op.image, op.orphans.before, false)).refused || refused;
      if (!refused) throw unexplained(err, op, 'no refusing grandchild under the children a lost delete removes');
      const { versionColumn, conflicts } = this.collisions(op);
      conflicts.record({ incoming: op.incoming, reason: 'fk-children-removed', decision: 'applied', local: null, versionColumn });
      return this.writeOne(op, tombstones);
    }
    // A delete may be refused under a child it cascades to (a grandchild written elsewhere): removeRefusing looks at every level.
    const removed = op.kind === 'delete' ? await removeRefusing(this.session, referencedBy, parentImageOf(op)) : await removeChildren(this.session, refusing(referencedBy, 'update'), parentImageOf(op));
    if (removed === 0) throw unexplained(err, op, 'no refusing child');
    const { versionColumn, conflicts } = this.collisions(op);
    conflicts.record({ incoming: op.incoming, reason: 'fk-children-removed', decision: 'applied', local: null, versionColumn });
    await this.writeOne(op, tombstones);
  }
}

/** A foreign-key violation the rules cannot explain by a concurrent change: a schema difference, which pauses the stream. */
function unexplained(err: unknown, op: Op, what: string): SchemaMismatchError {
  const { schema, table } = op.incoming.change;
  return new SchemaMismatchError(`foreign key violation in ${schema}.${table} with ${what}: the parent table is not replicated, or differs between ezones`, { table: `${schema}.${table}`, errno: errnoOf(err) ?? 0 });
}


/** Whether an update writes its image under another primary key than the one it updates (a key change). */
function movesKey(op: Op): boolean {
  return keyOf(op, op.key) !== keyOf(op, op.image);
}

/** The primary key of `row` (of op's table) as canonical text, by the table's column types. */
const keyOf = (op: Op, row: Row): string => canonicalKey(Object.fromEntries(op.info.primaryKey.map((c) => [c, row[c] ?? null])), op.info.columnTypes);

/** A delete of a row other tables reference: its children are read just before it runs (WriteBatcher.beforeParentDelete). */
const deletesParent = (op: Op): boolean => op.kind === 'delete' && (op.info.referencedBy ?? []).length > 0;

/** `ops` cut before each parent delete (deletesParent), in order: every part but the first starts with one. */
function atParentDeletes(ops: Op[]): Op[][] {
  const segments: Op[][] = [];
  for (const op of ops) {
    if (segments.length === 0 || deletesParent(op)) segments.push([]);
    segments[segments.length - 1]!.push(op);
  }
  return segments;
}

/** Whether `ops` wrote the row `key` of `schema.table` (either key of a key change; keys compared by keyOf, the table's types). */
function wroteRow(ops: readonly Op[], schema: string, table: string, key: Row): boolean {
  return ops.some((op) => {
    if (op.incoming.change.schema !== schema || op.incoming.change.table !== table) return false;
    const k = keyOf(op, key);
    return keyOf(op, op.key) === k || keyOf(op, op.image) === k;
  });
}
