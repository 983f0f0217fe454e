/**
 * Dates and times. DATE, DATETIME and TIMESTAMP travel as the server's text (UTC, every fractional
 * digit: zongji and mysql2 run with dateStrings), are points in time, and as version columns read as
 * epoch microseconds, comparable with a commit time (a delete's version, DESIGN.md section 5 rule 1).
 * TIME is a duration ('-838:59:59.000000'): text as well, but no point in time and no version.
 *
 * Edge values (DATE 1000-01-01 … 9999-12-31, zero dates and zero parts written under a non-strict sql_mode,
 * DATETIME(0…6) fractions, TIMESTAMP(6) 1970-01-01 00:00:01 … 2038-01-19 03:14:07.999999, TIME ±838:59:59
 * and TIME(6) fractions) are checked byte for byte across ezones by test/integration/type-matrix-numeric.test.ts.
 * A zero date applies only where the applying session's sql_mode accepts it (no NO_ZERO_DATE / NO_ZERO_IN_DATE).
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const temporalFamily = uniform('temporal', agnostic('temporal', { clockVersion: true }));

export const timeFamily = uniform('time', agnostic('time'));
