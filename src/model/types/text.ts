/**
 * Character strings: CHAR, VARCHAR, TEXT. How a value travels depends on the column's charset, so
 * that every byte the origin stored arrives (issue 12):
 *
 * - utf8mb3/utf8mb4: text, as zongji and mysql2 both decode it (4-byte characters, combining marks).
 * - latin1 (and ascii, a subset): text decoded with the server's own latin1 table (latin1.ts), so it
 *   equals what a utf8mb4 query returns and converts back to the same bytes. zongji's cp1252 turned
 *   0x81 0x8D 0x8F 0x90 0x9D into U+FFFD (capture/zongji-patches.ts now hands over the bytes).
 * - every other charset (cp1250, sjis, cp932, gbk, big5, euckr, ucs2, utf16, utf32, …): the column's
 *   bytes, `{ $b }`, bound back as a Buffer — a hex literal the server stores into the column without
 *   conversion. No decoder outside the server has the server's tables, so text would be lossy.
 *   Known gap: rows read back by a utf8mb4 query arrive as the server's converted text, which does
 *   not compare equal to those bytes unless the reader selects the column as bytes (README).
 *
 * Known defect (issue 12, KEYS): keys ignore the collation ('alice' vs 'Alice' under _ci).
 */
import { agnostic, anyToWire } from './any-value.js';
import type { ColumnMeta } from './column-meta.js';
import type { ColumnType, TypeFamily } from './family.js';
import { latin1Decode } from './latin1.js';

/** Charsets whose values travel as text (everything else travels as bytes). */
export const TEXT_CHARSETS: ReadonlySet<string> = new Set(['utf8', 'utf8mb3', 'utf8mb4', 'latin1', 'ascii']);

const utf8Text = agnostic('text');

/** A latin1 or ascii column: raw bytes (patched zongji) become the server's text. */
const latin1Text = agnostic('text', {
  fromBinlog: (v) => (Buffer.isBuffer(v) || v instanceof Uint8Array ? latin1Decode(v) : anyToWire(v)),
});

/** Any other charset: the column's bytes; a Buffer from the binlog (or a query reading bytes) is wire bytes. */
const byteText = agnostic('text');

/** The column type of a character column with this charset (utf8 text when unknown). */
export function textColumn(meta: Pick<ColumnMeta, 'charset'>): ColumnType {
  const charset = meta.charset ?? 'utf8mb4';
  if (charset === 'latin1' || charset === 'ascii') return latin1Text;
  return TEXT_CHARSETS.has(charset) ? utf8Text : byteText;
}

export const textFamily: TypeFamily = { name: 'text', column: textColumn };
