/**
 * JSON (MySQL's binary JSON type; MariaDB's JSON is LONGTEXT and belongs to the text family): the
 * document's text (jsonStrings), 64-bit integers kept exact, bound back as that text.
 *
 * Known risk (issue 12, not reproduced): compared as text, so one document printed two ways (binlog vs query) counts as two values.
 */
import { agnostic } from './any-value.js';
import { uniform } from './family.js';

export const jsonFamily = uniform('json', agnostic('json'));
