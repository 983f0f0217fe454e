import { anyColumn } from './types/any-value.js';
import type { ColumnType } from './types/family.js';
import type { WireValue } from './value.js';

/**
 * A version column's value as a comparable decimal integer string: integers as they are, temporal
 * values (DATETIME/TIMESTAMP/DATE text, read in UTC) as epoch microseconds. Null for NULL; undefined
 * when the value cannot serve as a version (then the table has no conflict protection). The column's
 * family parses it (types/); without a type, the type-agnostic family accepts both forms.
 */
export function versionOf(value: WireValue | undefined, type: ColumnType = anyColumn): string | null | undefined {
  return type.version(value);
}

/** Epoch milliseconds as a version (epoch microseconds). */
export const versionFromMillis = (ms: number): string => (BigInt(Math.trunc(ms)) * 1000n).toString();

/** Compare two versions (decimal integer strings; null sorts first). */
export function compareVersions(a: string | null | undefined, b: string | null | undefined): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
  if (b === null || b === undefined) return 1;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The larger of two versions. */
export const maxVersion = (a: string | null | undefined, b: string | null | undefined) => (compareVersions(a, b) >= 0 ? a : b);

/**
 * A version (decimal integer string; temporal columns: UTC epoch microseconds) as a value of the
 * version column, for a comparison in SQL (sessions run in UTC: db/connect.ts); undefined for a column type it cannot be written as. Pure.
 */
export function versionAsValue(version: string, dataType: string | undefined): string | undefined {
  const t = (dataType ?? '').toLowerCase();
  if (t.endsWith('int')) return version;
  if (t !== 'datetime' && t !== 'timestamp') return undefined;
  const micros = BigInt(version);
  const ms = micros / 1000n;
  const text = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = (micros % 1_000_000n).toString().padStart(6, '0');
  return `${text.slice(0, 10)} ${text.slice(11, 19)}.${fraction}`;
}
