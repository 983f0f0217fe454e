import type { WireValue } from './value.js';

const TEMPORAL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/;

/**
 * A version column's value as a comparable decimal integer string: integers as they are, temporal
 * values (DATETIME/TIMESTAMP/DATE text, read in UTC) as epoch microseconds. Null for NULL; undefined
 * when the value cannot serve as a version (then the table has no conflict protection).
 */
export function versionOf(value: WireValue | undefined): string | null | undefined {
  if (value === null) return null;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : undefined;
  if (typeof value !== 'string') return undefined;
  if (/^-?\d+$/.test(value)) return BigInt(value).toString();
  const m = TEMPORAL.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = ''] = m;
  if (Number(mo) === 0 || Number(d) === 0) return '0'; // zero dates sort before every real time
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return (BigInt(ms) * 1000n + BigInt(frac.padEnd(6, '0'))).toString();
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
