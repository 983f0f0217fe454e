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
import { agnostic, anySame, anyText, anyToParam, anyToWire } from './any-value.js';
import type { ColumnMeta } from './column-meta.js';
import { TypeCode } from './column-meta.js';
import type { ColumnType, TypeFamily } from './family.js';
import type { CanonicalPart, SqlParam, WireValue } from './wire.js';

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

/**
 * A FLOAT can hold -0 (a negative value that underflows, -1e-50, is stored so), a DOUBLE cannot (the
 * server stores -0 as 0). JSON has no -0 (`JSON.stringify(-0)` is `0`), so on the wire a FLOAT's -0 is
 * the text '-0'; an older peer binds that text, which the server stores as 0, as before.
 */
const NEGATIVE_ZERO = '-0';
/** What the server reads back as a FLOAT -0: a parameter or literal -0 becomes 0, an underflow does not. */
const UNDERFLOW = -1e-50;

/** A FLOAT's wire form: its float32, -0 as NEGATIVE_ZERO. */
function floatWire(v: unknown): WireValue {
  const w = anyToWire(v);
  if (typeof w !== 'number') return w;
  const f = Math.fround(w);
  return Object.is(f, -0) ? NEGATIVE_ZERO : f;
}

/**
 * A FLOAT's written parameter: -0 as a value the server stores as -0. Compared (WHERE f = ?), UNDERFLOW
 * is a double and matches no stored -0; the text '-0' (toParam) matches it, as it matches 0.
 */
function floatWritten(v: WireValue): SqlParam {
  return v === NEGATIVE_ZERO || Object.is(v, -0) ? UNDERFLOW : anyToParam(v);
}

/** Key identity: -0 and 0 are one key to the server. */
const floatKeyText = (v: WireValue): CanonicalPart => anyText(v === NEGATIVE_ZERO ? 0 : v);

/**
 * A FLOAT read exactly: the server's 6-digit text would lose the float32's last digits, and the text of
 * -0 (as a double too) is `0`: -0 is read as UNDERFLOW, which floatWire takes back to -0.
 */
const readFloat = (quoted: string): string => `IF(${quoted} = 0 AND ATAN2(${quoted}, -1) < 0, ${UNDERFLOW}, CAST(${quoted} AS DOUBLE))`;

const FLOAT: ColumnType = agnostic('float', { fromBinlog: floatWire, fromQuery: floatWire, toWritten: floatWritten, same: floatSame, keyText: floatKeyText, readExpression: readFloat });
const DOUBLE: ColumnType = agnostic('float', { same: doubleSame, keyText: doubleText, orderText: doubleText });

/** DOUBLE, REAL and FLOAT(p > 24) are doubles; information_schema and the binlog already say `double` for FLOAT(53). */
const isDouble = (meta: ColumnMeta) => meta.typeCode === TypeCode.DOUBLE || meta.dataType === 'double' || meta.dataType === 'real';

export const floatFamily: TypeFamily = { name: 'float', column: (meta) => (isDouble(meta) ? DOUBLE : FLOAT) };
