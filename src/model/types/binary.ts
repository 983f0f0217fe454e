/**
 * Binary strings: BINARY, VARBINARY, BLOB. Bytes on the wire as `{ $b: base64 }` (JSON has no bytes),
 * bound back as a Buffer; an empty value (`{ $b: '' }`) is not NULL and not ''. BINARY(n) keeps its
 * trailing zero bytes (zongji re-pads the row image to the column's width).
 *
 * Known defect (issue 12): none in the value; one value larger than a Kafka message (a 2 MB LONGBLOB) cannot ship yet.
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const binaryFamily = uniform('binary', agnostic('binary'));
