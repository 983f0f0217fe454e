/**
 * The type-agnostic family: works on the JavaScript value alone, for columns whose type DRC does not
 * know (rows read back without metadata, unknown types). Every family delegates to it today, so the
 * registry changes no behaviour; issue 12 replaces a family's part where the JS value is not enough.
 *
 * Known defect (issue 12): fractional numbers compare and key at float32 precision whatever the type.
 */
import type { ColumnType } from './family.js';
import { integerText, temporalMicros } from './text-forms.js';
import type { CanonicalPart, SqlParam, WireValue } from './wire.js';

/** A decoded value (zongji with dateStrings, jsonStrings, UTC; or mysql2 with the same options) → wire. */
export function anyToWire(v: unknown): WireValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return { $b: v.toString('base64') };
  if (v instanceof Uint8Array) return { $b: Buffer.from(v).toString('base64') };
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v); // a parsed JSON document (never with jsonStrings) or a geometry object
}

/** Binary back to a Buffer; everything else binds as it is. */
export function anyToParam(v: WireValue): SqlParam {
  if (v !== null && typeof v === 'object') return Buffer.from(v.$b, 'base64');
  return v;
}

export function anySame(a: WireValue | undefined, b: WireValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a === 'object' && typeof b === 'object') return a.$b === b.$b;
  if (typeof a === 'object' || typeof b === 'object') return false;
  // FLOAT arrives from the binlog as the exact float32 and from a query as its shortest text.
  if (typeof a === 'number' && typeof b === 'number') return Math.fround(a) === Math.fround(b) && !Number.isInteger(a);
  // A number and its exact decimal text are the same value (e.g. BIGINT read back as a string).
  return String(a) === String(b);
}

/**
 * A number and its exact decimal text are one value (a BIGINT may arrive either way); fractional
 * numbers are written at float32 precision, as FLOAT columns read differently from binlog and query.
 */
export function anyText(v: WireValue): CanonicalPart {
  if (v === null) return null;
  if (typeof v === 'object') return ['b', v.$b];
  if (typeof v === 'number' && !Number.isInteger(v)) return String(Math.fround(v));
  return String(v);
}

/** Integers as they are, temporal text as epoch microseconds (see text-forms.ts). */
export function anyVersion(value: WireValue | undefined): string | null | undefined {
  if (value === null) return null;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : undefined;
  if (typeof value !== 'string') return undefined;
  return integerText(value) ?? temporalMicros(value);
}

export const anyColumn: ColumnType = {
  family: 'any',
  clockVersion: false,
  fromBinlog: anyToWire,
  fromQuery: anyToWire,
  toParam: anyToParam,
  same: anySame,
  keyText: anyText,
  orderText: anyText,
  version: anyVersion,
};

/** A column type that behaves as the type-agnostic one, under its own family name. */
export const agnostic = (family: ColumnType['family'], overrides: Partial<ColumnType> = {}): ColumnType => ({ ...anyColumn, family, ...overrides });
