/**
 * Column values on the wire. JSON carries numbers, strings, booleans and null as they are; what JSON
 * cannot carry exactly is tagged: binary as `{ $b: base64 }`. DECIMAL, BIGINT beyond 2^53,
 * DATETIME(6)/TIMESTAMP(6) (UTC), DATE, TIME, ENUM, SET and JSON documents travel as the exact
 * strings the server prints, which every MySQL/MariaDB column accepts back unchanged.
 */

export type WireValue = null | boolean | number | string | { $b: string };
export type Row = Record<string, WireValue>;

/** Convert a decoded binlog value (zongji with dateStrings, jsonStrings, UTC) to its wire form. */
export function toWire(v: unknown): WireValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return { $b: v.toString('base64') };
  if (v instanceof Uint8Array) return { $b: Buffer.from(v).toString('base64') };
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v); // a parsed JSON document (never with jsonStrings) or a geometry object
}

/** Convert a wire value to what the database driver binds as a parameter. */
export function fromWire(v: WireValue): null | boolean | number | string | Buffer {
  if (v !== null && typeof v === 'object') return Buffer.from(v.$b, 'base64');
  return v;
}

export function toWireRow(row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = toWire(v);
  return out;
}

/** Whether two wire values are the same value. */
export function sameValue(a: WireValue | undefined, b: WireValue | undefined): boolean {
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
 * Deterministic serialisation of a row (keys sorted), the same in every ezone for the same values:
 * used for tie-breaks and for message keys.
 */
export function canonicalRow(row: Row): string {
  const keys = Object.keys(row).sort();
  return JSON.stringify(keys.map((k) => [k, canonicalValue(row[k] ?? null)]));
}

/**
 * A number and its exact decimal text are one value (a BIGINT may arrive either way); fractional
 * numbers are compared at float32 precision, as FLOAT columns read differently from binlog and query.
 */
function canonicalValue(v: WireValue): string | [string, string] | null {
  if (v === null) return null;
  if (typeof v === 'object') return ['b', v.$b];
  if (typeof v === 'number' && !Number.isInteger(v)) return String(Math.fround(v));
  return String(v);
}
