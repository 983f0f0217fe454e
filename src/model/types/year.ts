/**
 * YEAR: a number on the wire (1901–2155, and 0 for '0000'), bound back as that number.
 *
 * Known defect (issue 12): YEAR 0000 arrives as 1900 (zongji lib/common.js `raw + 1900`), out of range in the peer.
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const yearFamily = uniform('year', agnostic('year'));
