/**
 * The contract of a type family. A family owns everything DRC does with one kind of column value, so
 * supporting a type (or fixing one, issue 12) touches one module: decoding from the binlog, the wire
 * form, the SQL parameter form, comparison, the canonical text and, where the family can be a version
 * column, version parsing.
 */
import type { ColumnMeta, QueryField } from './column-meta.js';
import type { CanonicalPart, SqlParam, WireValue } from './wire.js';

export type FamilyName =
  | 'any'
  | 'integer'
  | 'decimal'
  | 'float'
  | 'temporal'
  | 'time'
  | 'year'
  | 'text'
  | 'binary'
  | 'enum-set'
  | 'bit'
  | 'json'
  | 'geometry'
  | 'inet-uuid';

/** How the values of one column are decoded, carried, bound, compared and written as canonical text. */
export interface ColumnType {
  readonly family: FamilyName;
  /**
   * Values are points in time (DATE, DATETIME, TIMESTAMP): a version of this column compares with a
   * commit time in epoch microseconds, so a delete's version may take the commit time (rule 1).
   */
  readonly clockVersion: boolean;
  /** A value zongji decoded from a row event (dateStrings, jsonStrings, UTC) → its wire form. */
  fromBinlog(value: unknown): WireValue;
  /** A value mysql2 returned for a query (options of db/connect.ts) → its wire form. */
  fromQuery(value: unknown): WireValue;
  /** The wire form → what mysql2 binds as a statement parameter. */
  toParam(value: WireValue): SqlParam;
  /** The wire form → what mysql2 binds to write it (INSERT VALUES, UPDATE SET); toParam where absent. */
  toWritten?(value: WireValue): SqlParam;
  /** Whether two wire values of this column are the same value (replays, before-image checks). */
  same(a: WireValue | undefined, b: WireValue | undefined): boolean;
  /** Canonical text for identity (canonicalKey: tombstone keys, message keys, write sets). */
  keyText(value: WireValue): CanonicalPart;
  /** Canonical text for the LWW tie-break order (tiebreakOrder). */
  orderText(value: WireValue): CanonicalPart;
  /**
   * The value as a version (a decimal integer string: integers as they are, times as epoch
   * microseconds); null for NULL; undefined when it cannot serve as a version.
   */
  version(value: WireValue | undefined): string | null | undefined;
  /**
   * Optional: the SQL expression that reads this column exactly, given its quoted name (absent: the
   * column itself). FLOAT needs one: the server's text protocol prints it with 6 significant digits.
   */
  readExpression?(quoted: string): string;
}

/** One type family: which columns it stores, and their column type. */
export interface TypeFamily {
  readonly name: FamilyName;
  /** The column type of one column of this family (a family may vary by column: FLOAT vs DOUBLE). */
  column(meta: ColumnMeta): ColumnType;
  /**
   * Optional: read a query result field itself instead of taking mysql2's default (`next()`); the
   * connection pools then install the registry's typeCast (db/connect.ts). GEOMETRY and MariaDB's UUID/INET do.
   */
  readField?(field: QueryField, next: () => unknown): unknown;
}

/** A family whose every column shares one column type (most families). */
export const uniform = (name: FamilyName, type: ColumnType): TypeFamily => ({ name, column: () => type });
