/**
 * BIT(n): the column's bytes, big-endian, as binary on the wire (`{ $b }`), bound back as a Buffer —
 * zongji and mysql2 both hand BIT over as a Buffer of ceil(n/8) bytes.
 *
 * Edge values (BIT(1) b'0' and b'1', BIT(9), BIT(63), BIT(64) all ones and 0x8000000000000001) are checked
 * byte for byte across ezones by test/integration/type-matrix-numeric.test.ts.
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const bitFamily = uniform('bit', agnostic('bit'));
