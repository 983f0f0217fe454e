/**
 * The decision for an update that changes a row's primary key (RowChange.oldKey; issue 13). Pure.
 *
 * Its meaning for last-writer-wins is that of a delete of the old key and an insert of the new one,
 * both with the change's version (DESIGN.md section 5), so every ezone reaches the same rows as if it
 * had travelled as two changes. Its execution is one UPDATE whenever both halves apply: ON UPDATE
 * CASCADE children then follow their parent in the peer as they did in the origin (a DELETE would
 * cascade-delete them, or be refused by RESTRICT ones).
 *
 * - the old key's row is here and the new key is free: `UPDATE … SET pk = new … WHERE pk = old`;
 * - the old key's row is here but the new key holds an older row (insert-exists, the incoming image
 *   wins): that row is deleted first, then the same UPDATE;
 * - the old key is missing here (update-missing): insert at the new key, unless a tombstone of the new
 *   key is at least as new;
 * - the old key's row is newer here (its half loses: updated concurrently): the old row stays with its
 *   children, and the new key is written on its own. The children stay with the newest write of the row
 *   they were under: the origin, meeting that newer update of the old key, re-creates the old row there
 *   and moves back the children its own cascade took along (fk-adopt.ts), so both ezones end alike;
 * - the new key holds a newer row, or a newer tombstone: only the old row is removed — but with a newer
 *   row at the new key, the old row's children move to it first, as the origin's cascade moved them
 *   (there the newer row then overwrites the parent at the new key and keeps them); with both keys
 *   newer here, nothing is written (the old row keeps its children, as above). A delete here would cascade-delete them (or be refused by RESTRICT ones) where the origin kept
 *   them: the ezones would differ with no conflict to say so.
 *
 * The old key always gets a tombstone with the change's version (rule 4), so an older update of the
 * old key arriving later cannot resurrect it.
 */
import type { RowChange } from '../model/change.js';
import type { Row } from '../model/value.js';
import type { TombstoneMark } from '../db/tombstones.js';
import { resolve, type ConflictDecision, type ConflictReason, type Decision } from './resolver.js';
import type { ColumnTypes } from '../model/types/row.js';

export interface KeyChangeInput {
  change: RowChange;
  /** The local row at the old key (null: none). */
  atOld: Row | null;
  /** The local row at the new key (null: none). */
  atNew: Row | null;
  /** The origin of the change: its own origin's tombstones never hold it back (resolver.ts). */
  origin: string;
  /** The tombstones of the new key, newest per origin (consulted when the new key is free). */
  tombstonesOfNew: readonly TombstoneMark[];
  versionColumn: string | null;
  types?: ColumnTypes;
  /**
   * Unique-key claims (unique-claims.ts), when the table has them: the old row's values are released
   * once its half is removed, before the new half is judged as the newest claimant of its values (it
   * may lose, or remove rows it outranks), as an insert of the new key would be.
   */
  claims?: { releaseOld(): void; judgeNew(written: Decision): Decision };
}

/** A write of the decision, in order; `key` is the row it finds (the WHERE), `image` what it writes. */
export interface KeyChangeWrite {
  kind: 'insert' | 'update' | 'delete';
  key: Row;
  image: Row;
  /** The old key's children follow the new key (the change's after-image), as the origin's ON UPDATE action moved them. */
  moveChildren?: true;
  /** The old row goes because the new half lost a unique value: a loser's removal, its children wait for the new key (Op.removal). */
  removal?: true;
}

export interface KeyChangeDecision {
  writes: KeyChangeWrite[];
  conflicts: { reason: ConflictReason; decision: ConflictDecision; local: Row | null }[];
  /** Tombstone of the old key (absent for an unversioned change). */
  tombstone?: string;
  /** Tombstone of the new key: its image lost a unique value (claims). */
  tombstoneOfNew?: string;
  /** The rows at the old and the new key after the decision (chains later changes of the batch). */
  nextOld: Row | null;
  nextNew: Row | null;
}

export function decideKeyChange(input: KeyChangeInput): KeyChangeDecision {
  const { change, atOld, atNew, versionColumn, types } = input;
  const before = change.before as Row;
  const after = change.after as Row;
  const oldKey = change.oldKey as Row;
  const out: KeyChangeDecision = { writes: [], conflicts: [], nextOld: atOld, nextNew: atNew };
  const versioned = change.version !== undefined && change.version !== null && versionColumn !== null;
  if (versioned) out.tombstone = change.version as string;

  // The old half, as a delete of the old key (rule 4). Missing: nothing to remove — a replay when the
  // new key already holds the image, otherwise the update-missing case below.
  const removed = resolve({ change: { ...change, op: 'delete', key: oldKey, before }, local: atOld, tombstones: [], origin: input.origin, versionColumn, types });
  const removesOld = removed.action === 'delete';
  if (removesOld) input.claims?.releaseOld();
  if (atOld !== null && removed.conflict) out.conflicts.push({ reason: 'update-diverged', decision: removesOld ? 'applied' : 'skipped', local: atOld });

  // The new half, as an insert of the new key (rules 2, 3).
  const plain = resolve({ change: { ...change, op: 'insert', oldKey: undefined }, local: atNew, tombstones: input.tombstonesOfNew, origin: input.origin, versionColumn, types });
  const written = input.claims ? input.claims.judgeNew(plain) : plain;
  if (written.tombstone !== undefined) out.tombstoneOfNew = written.tombstone;
  if (written.conflict) out.conflicts.push({ reason: written.conflict.reason, decision: written.conflict.decision, local: atNew });
  else if (atOld === null && written.action === 'insert') out.conflicts.push({ reason: 'update-missing', decision: 'applied', local: null });
  const writesNew = written.action !== 'none';
  // The new half lost a unique value (judged, not refused by last-writer-wins): the moved row is a loser, removed.
  const lost = plain.action !== 'none' && written.action === 'none' && written.conflict === undefined;
  // The moved image lost a unique value and was newer than the new key's row here: the claims removed
  // that row (unique-claims.ts judge, a delete of its own). Gone: not to be rewritten as it is — an
  // update of a missing row writes its image back (write-batch.ts), and it stayed here alone.
  const newGone = atNew !== null && written.next === null;

  if (removesOld && writesNew) {
    if (atNew !== null) out.writes.push({ kind: 'delete', key: change.key, image: atNew });
    out.writes.push({ kind: 'update', key: oldKey, image: after });
  } else if (removesOld) {
    // The new key's row stays (rewritten as it is, a no-op) and takes the children before the old row goes.
    if (atNew !== null && !newGone) out.writes.push({ kind: 'update', key: change.key, image: atNew, moveChildren: true });
    out.writes.push({ kind: 'delete', key: oldKey, image: atOld as Row, ...(lost ? { removal: true as const } : {}) });
  } else if (writesNew) {
    out.writes.push(atNew === null ? { kind: 'insert', key: change.key, image: after } : { kind: 'update', key: change.key, image: after });
  }
  if (removesOld) out.nextOld = null;
  out.nextNew = written.next;
  return out;
}
