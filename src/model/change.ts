import type { Row } from './value.js';

/**
 * `truncate`: TRUNCATE TABLE in the origin. It travels alone in its transaction, with an empty key and
 * no images; its version is the time of the truncate (apply/truncate.ts: every row not newer goes).
 */
export type Operation = 'insert' | 'update' | 'delete' | 'truncate';

/**
 * One row change of a transaction. An update that changes the primary key travels as one update
 * carrying the old key too (`oldKey`): applied as one UPDATE, so ON UPDATE CASCADE / RESTRICT children
 * in the peer behave as in the origin (a delete + insert would cascade-delete or be refused by them).
 * A truncate concerns the whole table.
 */
export interface RowChange {
  schema: string;
  table: string;
  op: Operation;
  /** Primary-key columns and their values (of the after-image; of the before-image for deletes). */
  key: Row;
  /**
   * An update that changed the primary key: the key of the before-image (`key` is the new one).
   * Absent for every other change (and in messages of builds before it).
   */
  oldKey?: Row;
  /**
   * The origin wrote this row with `foreign_key_checks = 0` (the row event's NO_FOREIGN_KEY_CHECKS
   * flag: a mysqldump load, a migration): the peer applies it with checks off too. Absent: checks on.
   */
  noFkChecks?: true;
  /** Before-image (update, delete). */
  before?: Row;
  /** After-image (insert, update). */
  after?: Row;
  /**
   * Last-writer-wins version as a decimal integer string (DESIGN.md section 5 rule 1): the version
   * column as an integer (temporal columns as UTC epoch microseconds); for deletes the larger of the
   * before-image's version and the commit time. Null when the row's version is NULL; absent when the
   * table has no version column.
   */
  version?: string | null;
  /**
   * The routing version of this row's hash shard in force in the origin when it wrote the row (capture
   * judges in binlog order, exactly): present when the shard is routed by drc_meta.routing. Absent in
   * messages of builds before it and for rows without a routed shard.
   */
  rv?: number;
  /** With `rv`: the origin did not own the shard then (or it was banned): the owner it had. */
  wrong?: string;
}

/** A whole source transaction. */
export interface Transaction {
  /** Ezone where the transaction was first committed by an application (the true origin). */
  origin: string;
  /** Transaction id in the origin's binlog (GTID, or file:position without GTIDs). */
  id: string;
  /** Binlog position right after this transaction: where capture resumes. */
  position: string;
  /** Commit time in the origin, ms since the epoch (binlog event time, second precision). */
  commitTime: number;
  changes: RowChange[];
}
