/**
 * DECIMAL/NUMERIC: the exact text the server prints (zongji and mysql2 both decode to strings, at the
 * column's scale), bound back as that text. Never a JavaScript number.
 *
 * Known defect (issue 12): none reproduced; edge values (max precision, negative zero scale) still need the type matrix.
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const decimalFamily = uniform('decimal', agnostic('decimal'));
