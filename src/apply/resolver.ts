/**
 * Last-writer-wins, convergent by construction (DESIGN.md section 5). Pure: every ezone runs the same
 * rules on the same shipped values, so every ezone reaches the same decision.
 *
 * Order: by version (rule 1; null lowest), then by a deterministic tie-break on the row images
 * (rule 2; model/types/order.ts). Equal versions never mean "keep local".
 *
 * Tombstones and origins (rule 3): a tombstone holds back an insert or update only when it comes from
 * another origin than the change. An origin's stream is applied in order, so a change from O that
 * meets a tombstone of O's own delete was written in O after that delete — causally later, whatever
 * its version says: a later change of the deleting transaction itself (a primary-key change shipped
 * as delete + insert, `SET id = id + 1`), or a re-insert with a fresh counter. O applied it over its
 * own delete, so every other ezone must too. A tombstone of another origin P is a delete O may not
 * have seen: version against version, as before — and in O itself P's delete, arriving later, meets
 * the re-inserted row and is decided by the same versions (rule 4), so every ezone ends alike.
 */
import type { TombstoneMark } from '../db/tombstones.js';
import type { RowChange } from '../model/change.js';
import { compareImages } from '../model/types/order.js';
import { typeOf, type ColumnTypes } from '../model/types/row.js';
import { sameValue, type Row } from '../model/value.js';
import { compareVersions, versionOf } from '../model/version.js';

/** The LWW order of two images now lives in model/ (apply and verify share it); re-exported for callers here. */
export { compareImages };

export type ConflictReason =
  /** Insert onto an existing, different row. */
  | 'insert-exists'
  /** Update whose before-image differs from the local row. */
  | 'update-diverged'
  /** Update of a row that does not exist here. */
  | 'update-missing'
  /** Delete whose before-image differs from the local row. */
  | 'delete-diverged'
  /** Delete of a row that does not exist here. */
  | 'delete-missing'
  /** Insert/update not newer than a local delete's tombstone. */
  | 'tombstone-newer'
  /** Another row holds the same unique key (rule 5). */
  | 'unique-collision'
  /** The origin does not own the row (DESIGN.md section 6). */
  | 'ownership'
  /**
   * A row the origin wrote while it owned the shard, arriving after a forced switchover took the shard
   * from it (`drc switchover --force`): two writers for a while; last-writer-wins decides it.
   */
  | 'forced-late'
  /** A TRUNCATE TABLE from another ezone deleted the rows not newer than it (apply/truncate.ts): recorded, not a clash. */
  | 'truncate'
  /** A child write whose parent was deleted concurrently: the child ends as the parent's ON DELETE action leaves it (fk-conflict.ts). */
  | 'fk-parent-missing'
  /** A parent delete or key change refused by children that exist only here: they are removed first (fk-conflict.ts). */
  | 'fk-children-removed'
  /** A child write under a parent key changed concurrently: it follows the parent's new key as ON UPDATE CASCADE / SET NULL moved its siblings (fk-conflict.ts). */
  | 'fk-parent-moved';

/** What happened to the incoming change. */
export type ConflictDecision = 'applied' | 'skipped';

/** The statement to run for a change. */
export type Action = 'insert' | 'update' | 'delete' | 'none';

export interface Decision {
  action: Action;
  /** Set when the change met a conflict (rule 6). */
  conflict?: { reason: ConflictReason; decision: ConflictDecision };
  /** Record a tombstone with this version (rule 4). */
  tombstone?: string;
  /** The row as it is after the decision (chains decisions within one target transaction). */
  next: Row | null;
}

export interface ResolveInput {
  change: RowChange;
  /** The local row (full image), or null when there is none. */
  local: Row | null;
  /**
   * The tombstones of this key, the newest per origin (db/tombstones.ts). Only consulted for versioned
   * changes to a missing row.
   */
  tombstones: readonly TombstoneMark[];
  /** The origin of the change: its own origin's tombstones never hold it back. */
  origin: string;
  /** Version column of the table (null: none). */
  versionColumn: string | null;
  /**
   * The target table's column types (TableInfo.columnTypes): values compare, version and tie-break by
   * their type (a DOUBLE exactly, a FLOAT at float32). Without them every column is type-agnostic,
   * which compares fractional numbers at float32 precision (a DOUBLE update beyond it is "identical").
   */
  types?: ColumnTypes;
}

/** Whether every column of `image` has the same value in `row`, each compared by its column type. */
export function matches(row: Row, image: Row, types?: ColumnTypes): boolean {
  for (const col of Object.keys(image)) if (!sameValue(row[col], image[col], typeOf(types, col))) return false;
  return true;
}

/** The newest tombstone of another origin than `origin`: the one that may hold a change of `origin` back. */
export function blockingTombstone(marks: readonly TombstoneMark[], origin: string): string | undefined {
  let newest: string | undefined;
  for (const m of marks) if (m.origin !== origin && compareVersions(m.version, newest) > 0) newest = m.version;
  return newest;
}

const localVersionOf = (local: Row, versionColumn: string | null, types?: ColumnTypes) =>
  versionColumn === null ? undefined : versionOf(local[versionColumn], typeOf(types, versionColumn));

export function resolve(input: ResolveInput): Decision {
  const { change, local, versionColumn, types } = input;
  if (change.op === 'delete') return resolveDelete(input);
  const after = change.after as Row;
  const versioned = change.version !== undefined && versionColumn !== null;

  if (local === null) {
    // Rule 3: apply the full after-image unless another origin's tombstone is at least as new.
    const blocking = versioned ? blockingTombstone(input.tombstones, input.origin) : undefined;
    if (blocking !== undefined && compareVersions(blocking, change.version) >= 0) {
      return { action: 'none', conflict: { reason: 'tombstone-newer', decision: 'skipped' }, next: null };
    }
    const conflict = change.op === 'update' ? { reason: 'update-missing' as const, decision: 'applied' as const } : undefined;
    return { action: 'insert', next: after, ...(conflict ? { conflict } : {}) };
  }

  if (matches(local, after, types)) return { action: 'none', next: local }; // identical: a replay, or already converged
  if (change.op === 'update' && change.before && matches(local, change.before, types)) return { action: 'update', next: { ...local, ...after } };

  // Rule 2 and 6: a real conflict, decided by (version, tie-break).
  const reason = change.op === 'insert' ? 'insert-exists' : 'update-diverged';
  const wins = !versioned || compareImages(change.version, after, localVersionOf(local, versionColumn, types), local, types) > 0;
  return wins
    ? { action: 'update', conflict: { reason, decision: 'applied' }, next: { ...local, ...after } }
    : { action: 'none', conflict: { reason, decision: 'skipped' }, next: local };
}

function resolveDelete(input: ResolveInput): Decision {
  const { change, local, versionColumn, types } = input;
  const before = change.before as Row;
  const versioned = change.version !== undefined && change.version !== null && versionColumn !== null;
  // Rule 4: every delete leaves a tombstone, whatever the decision.
  const tombstone = versioned ? { tombstone: change.version as string } : {};

  if (local === null) {
    // A replay finds its own tombstone: same origin, same version.
    const replay = versioned && input.tombstones.some((m) => m.origin === input.origin && compareVersions(m.version, change.version) === 0);
    return replay ? { action: 'none', next: null, ...tombstone } : { action: 'none', conflict: { reason: 'delete-missing', decision: 'skipped' }, next: null, ...tombstone };
  }
  if (matches(local, before, types)) return { action: 'delete', next: null, ...tombstone };
  const wins = !versioned || compareVersions(change.version, localVersionOf(local, versionColumn, types) ?? null) >= 0;
  return wins
    ? { action: 'delete', conflict: { reason: 'delete-diverged', decision: 'applied' }, next: null, ...tombstone }
    : { action: 'none', conflict: { reason: 'delete-diverged', decision: 'skipped' }, next: local, ...tombstone };
}
