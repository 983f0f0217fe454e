/** Parsers of the server's text forms, shared by the families (leaf module: imports nothing). */

const INTEGER = /^-?\d+$/;
const TEMPORAL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/;

/** Exact integer text (any size) in its normal form, or undefined when `text` is not an integer. */
export function integerText(text: string): string | undefined {
  return INTEGER.test(text) ? BigInt(text).toString() : undefined;
}

/**
 * DATETIME/TIMESTAMP/DATE text, read in UTC, as epoch microseconds (decimal integer string); zero
 * dates as '0' (they sort before every real time); undefined when `text` is no such value.
 */
export function temporalMicros(text: string): string | undefined {
  const m = TEMPORAL.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = ''] = m;
  if (Number(mo) === 0 || Number(d) === 0) return '0';
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return (BigInt(ms) * 1000n + BigInt(frac.padEnd(6, '0'))).toString();
}
