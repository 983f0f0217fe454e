/**
 * ENUM and SET: the member text ('b', 'x,z'), as the server prints it and accepts it back.
 *
 * Known defect (issue 12): ENUM '' (index 0, non-strict sql_mode) arrives as NULL (zongji `choices[raw - 1]` is undefined).
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const enumSetFamily = uniform('enum-set', agnostic('enum-set'));
