/**
 * FLOAT and DOUBLE, each exact at its own precision.
 *
 * - DOUBLE (also REAL, and FLOAT(p) with p > 24, which the server stores as DOUBLE): a JavaScript
 *   number is exactly a double. zongji reads the binlog's 8 bytes, mysql2 parses the server's text,
 *   which MariaDB and MySQL print as the shortest text that reads back to the same double — so both
 *   give the same number, compared and written as canonical text exactly (`String(v)`, shortest
 *   round trip).
 * - FLOAT (FLOAT(p) with p ≤ 24): a float32. zongji decodes it exactly (1.100000023841858); MariaDB's
 *   text protocol prints only 6 significant digits (16777216 reads back as 16777200), so a query must
 *   select `CAST(col AS DOUBLE)` (readExpression) to read the stored value. Compared at float32
 *   precision (`Math.fround`), so that a value read back through an older, plain `SELECT` of a short
 *   decimal (1.1) still equals its binlog form; canonical text is the float32's exact value, as before.
 *
 * Issue 12 fixed here: DOUBLE was compared and keyed at float32 precision, like FLOAT, so an update
 * beyond float32 precision was lost and two keys equal at float32 collided. DOUBLE's key text changes
 * only for values no float32 can hold (README: tombstones of such keys recorded before the fix).
 */
import { agnostic, anySame, anyText, anyToWire } from './any-value.js';
import type { ColumnMeta } from './column-meta.js';
import { TypeCode } from './column-meta.js';
import type { ColumnType, TypeFamily } from './family.js';
import type { CanonicalPart, WireValue } from './wire.js';

/** A wire value as a number when it is one (numbers, or numeric text from an older peer). */
function numberOf(v: WireValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isNaN(n) ? undefined : n;
}

/** Same double: exact equality (0 and -0 are one value: the server stores -0 as 0). */
export function doubleSame(a: WireValue | undefined, b: WireValue | undefined): boolean {
  if (a === b) return true;
  const x = numberOf(a);
  const y = numberOf(b);
  if (x === undefined || y === undefined) return anySame(a, b);
  return x === y;
}

/** A double's exact canonical text: the shortest text that reads back to it (integers as before). */
export function doubleText(v: WireValue): CanonicalPart {
  const n = numberOf(v);
  if (n === undefined) return anyText(v);
  return Object.is(n, -0) ? '0' : String(n);
}

/** Same float32: equal once both are rounded to float32. */
export function floatSame(a: WireValue | undefined, b: WireValue | undefined): boolean {
  if (a === b) return true;
  const x = numberOf(a);
  const y = numberOf(b);
  if (x === undefined || y === undefined) return anySame(a, b);
  return Math.fround(x) === Math.fround(y);
}

/** A value read back as `CAST(col AS DOUBLE)` or plainly: its float32 (the stored value). */
function floatFromQuery(v: unknown): WireValue {
  const w = anyToWire(v);
  return typeof w === 'number' ? Math.fround(w) : w;
}

/** A FLOAT read exactly: the server's 6-digit text would lose the float32's last digits. */
const castToDouble = (quoted: string): string => `CAST(${quoted} AS DOUBLE)`;

const FLOAT: ColumnType = agnostic('float', { same: floatSame, fromQuery: floatFromQuery, readExpression: castToDouble });
const DOUBLE: ColumnType = agnostic('float', { same: doubleSame, keyText: doubleText, orderText: doubleText });

/** DOUBLE, REAL and FLOAT(p > 24) are doubles; information_schema and the binlog already say `double` for FLOAT(53). */
const isDouble = (meta: ColumnMeta) => meta.typeCode === TypeCode.DOUBLE || meta.dataType === 'double' || meta.dataType === 'real';

export const floatFamily: TypeFamily = { name: 'float', column: (meta) => (isDouble(meta) ? DOUBLE : FLOAT) };
