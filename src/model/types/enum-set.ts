/**
 * ENUM and SET: the member text ('b', 'x,z'), as the server prints it and accepts it back.
 *
 * ENUM index 0 is the '' a non-strict sql_mode stores for a value that is no member; zongji decodes it
 * as `choices[raw - 1]` (@vlasky/zongji 0.9.0 lib/common.js:682), undefined, where NULL arrives as
 * null (lib/rows_event.js:175): undefined can only be index 0, and becomes '' here (issue 12).
 */
import { agnostic, anyToWire } from './any-value.js';
import { uniform } from './family.js';

export const enumSetFamily = uniform(
  'enum-set',
  agnostic('enum-set', {
    fromBinlog: (v) => (v === undefined ? '' : anyToWire(v)),
  }),
);
