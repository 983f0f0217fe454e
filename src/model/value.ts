/**
 * Column values on the wire, and the row-level helpers most callers need. The values themselves are
 * owned by the column-type registry (types/registry.ts, one module per type family); the functions
 * here take optional column types and fall back to the type-agnostic family, as before the registry.
 */
import { anyColumn } from './types/any-value.js';
import { canonicalKey } from './types/canonical-key.js';
import type { ColumnType } from './types/family.js';
import { decodeQueryRow, type ColumnTypes } from './types/row.js';
import type { Row, SqlParam, WireValue } from './types/wire.js';

export type { Row, SqlParam, WireValue } from './types/wire.js';

/** A wire value as the driver binds it to be written into a column of this type (INSERT VALUES, UPDATE SET). */
export function writtenParam(v: WireValue, type: ColumnType = anyColumn): SqlParam {
  return type.toWritten ? type.toWritten(v) : type.toParam(v);
}

/** Convert a decoded value (zongji or mysql2 with dateStrings, jsonStrings, UTC) to its wire form. */
export function toWire(v: unknown, type: ColumnType = anyColumn): WireValue {
  return type.fromQuery(v);
}

/** Convert a wire value to what the database driver binds as a parameter. */
export function fromWire(v: WireValue, type: ColumnType = anyColumn): SqlParam {
  return type.toParam(v);
}

/** A row as the driver returned it → wire row (see types/row.ts decodeQueryRow). */
export function toWireRow(row: Record<string, unknown>, types?: ColumnTypes): Row {
  return decodeQueryRow(row, types);
}

/** Whether two wire values are the same value. */
export function sameValue(a: WireValue | undefined, b: WireValue | undefined, type: ColumnType = anyColumn): boolean {
  return type.same(a, b);
}

/**
 * @deprecated Use canonicalKey (identity: tombstone keys, message keys, write sets) or tiebreakOrder
 * (the LWW tie-break), both in model/types/. Kept for callers not yet moved; identical to canonicalKey.
 */
export const canonicalRow = (row: Row): string => canonicalKey(row);

export { canonicalKey } from './types/canonical-key.js';
