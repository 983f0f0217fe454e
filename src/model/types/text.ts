/**
 * Character strings: CHAR, VARCHAR, TEXT. How a value travels depends on the column's charset, so
 * that every byte the origin stored arrives (issue 12):
 *
 * - utf8mb3/utf8mb4: text, as zongji and mysql2 both decode it (4-byte characters, combining marks).
 * - every other charset (latin1, ascii, cp1250, sjis, cp932, gbk, big5, euckr, ucs2, utf16, utf32, …):
 *   the column's bytes, `{ $b }`, bound back as a Buffer — a hex literal the server stores into the
 *   column without conversion. No decoder outside the server has the server's tables (zongji's cp1252
 *   turned latin1 0x81 0x8D 0x8F 0x90 0x9D into U+FFFD), so text would be lossy. Capture gets the bytes
 *   from capture/zongji-patches.ts, queries from db/result-charsets.ts (results unconverted), so binlog
 *   and query values compare equal.
 *
 * Known defect (issue 12, KEYS): keys ignore the collation ('alice' vs 'Alice' under _ci); for the
 * byte-carried charsets, latin1.ts has the server's latin1 table.
 */
import { agnostic } from './any-value.js';
import type { ColumnMeta } from './column-meta.js';
import type { ColumnType, TypeFamily } from './family.js';

/** Charsets whose values travel as text (everything else travels as bytes). */
export const TEXT_CHARSETS: ReadonlySet<string> = new Set(['utf8', 'utf8mb3', 'utf8mb4']);

const utf8Text = agnostic('text');

/** Any other charset: a Buffer (binlog, or a query reading unconverted results) is wire bytes. */
const byteText = agnostic('text');

/** The column type of a character column with this charset (utf8 text when unknown). */
export function textColumn(meta: Pick<ColumnMeta, 'charset'>): ColumnType {
  return TEXT_CHARSETS.has(meta.charset ?? 'utf8mb4') ? utf8Text : byteText;
}

export const textFamily: TypeFamily = { name: 'text', column: textColumn };
