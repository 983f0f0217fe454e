/**
 * BIT(n): the column's bytes, big-endian, as binary on the wire (`{ $b }`), bound back as a Buffer —
 * zongji and mysql2 both hand BIT over as a Buffer of ceil(n/8) bytes.
 *
 * Known defect (issue 12): none reproduced; BIT edge values (BIT(1), BIT(64) all ones) still need the type matrix.
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const bitFamily = uniform('bit', agnostic('bit'));
