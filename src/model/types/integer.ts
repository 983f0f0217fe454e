/**
 * Integers: TINYINT, SMALLINT, MEDIUMINT, INT, BIGINT, signed or not. On the wire a number within
 * ±2^53 and exact decimal text beyond (BIGINT UNSIGNED max is '18446744073709551615'); a number and
 * its text are one value. A valid version column (counter), compared as a big integer.
 *
 * Edge values (TINYINT … BIGINT, signed and unsigned, min and max) are checked byte for byte across ezones by
 * test/integration/type-matrix-numeric.test.ts. Id 0 under NO_AUTO_VALUE_ON_ZERO is the apply session's sql_mode.
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const integerFamily = uniform('integer', agnostic('integer'));
