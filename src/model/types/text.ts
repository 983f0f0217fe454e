/**
 * Character strings: CHAR, VARCHAR, TEXT of any character set, as JavaScript strings (zongji decodes
 * each column in its own charset; the pools read utf8mb4). Compared and keyed exactly, code unit by
 * code unit.
 *
 * Known defect (issue 12): latin1 goes through cp1252 (0x81 0x8D 0x8F 0x90 0x9D become U+FFFD), and keys ignore the collation ('alice' vs 'Alice' under _ci).
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const textFamily = uniform('text', agnostic('text'));
