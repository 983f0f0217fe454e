/**
 * YEAR: a number on the wire (1901–2155, and 0 for '0000'), bound back as that number (a numeric 0
 * stores '0000'; the text '0' would store 2000).
 *
 * zongji 0.9.0 decodes YEAR as `raw + 1900` (lib/common.js, `case MysqlTypes.YEAR`), so the zero year
 * (raw 0) arrives as 1900 — a value no YEAR column can hold, which the peer refuses (issue 12). 1900
 * therefore always means '0000': fromBinlog maps it back. Queries (mysql2) already return 0.
 */
import { agnostic, anyToWire } from './any-value.js';
import { uniform } from './family.js';
import type { WireValue } from './wire.js';

/** zongji's YEAR (see above): 1900 is its decoding of the zero year. */
export function yearFromBinlog(v: unknown): WireValue {
  return v === 1900 ? 0 : anyToWire(v);
}

export const yearFamily = uniform('year', agnostic('year', { fromBinlog: yearFromBinlog }));
