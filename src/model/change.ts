import type { Row } from './value.js';

/**
 * `truncate`: TRUNCATE TABLE in the origin. It travels alone in its transaction, with an empty key and
 * no images; its version is the time of the truncate (apply/truncate.ts: every row not newer goes).
 */
export type Operation = 'insert' | 'update' | 'delete' | 'truncate';

/**
 * One row change of a transaction. An update that changes the primary key travels as a delete of the
 * old key and an insert of the new one, so every change concerns exactly one key (a truncate: the
 * whole table).
 */
export interface RowChange {
  schema: string;
  table: string;
  op: Operation;
  /** Primary-key columns and their values (of the after-image; of the before-image for deletes). */
  key: Row;
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
