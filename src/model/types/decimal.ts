/**
 * DECIMAL/NUMERIC: the exact text the server prints (zongji and mysql2 both decode to strings, at the
 * column's scale), bound back as that text. Never a JavaScript number.
 *
 * Edge values (DECIMAL(65,30) and DECIMAL(65,0) min and max, -0.0, the smallest fraction) are checked byte for
 * byte across ezones by test/integration/type-matrix-numeric.test.ts.
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const decimalFamily = uniform('decimal', agnostic('decimal'));
