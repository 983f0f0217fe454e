/**
 * A conservative JS stand-in for "equal under the column's collation", for write sets (write-set.ts),
 * which must be computed without a round trip. Two texts a server collation may hold equal must fold
 * to the same text; folding more texts together than any collation does is harmless there (two
 * transactions are then ordered that could have run side by side — stricter, never wrong). Row
 * identity on the apply path is never decided here: the server answers it (row-state.ts).
 *
 * What it merges: case (`_ci`), accents and other combining marks (`_ai`, UCA collations), compatibility
 * forms (NFKD: ligatures, full-width letters), ignorable format and control characters, the letters UCA
 * treats as a base letter with a diacritic or as two letters (ß/ss/s, æ/ae, œ/oe, ø, đ, ł, ħ, ı, þ/th),
 * and trailing spaces (PAD SPACE: 'a' = 'a  ').
 */

/** Letters NFKD does not decompose that UCA or general_ci compare equal to a base letter or a pair. */
const LETTERS: Record<string, string> = { æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', ł: 'l', ħ: 'h', ı: 'i', þ: 'th', ŀ: 'l', ĸ: 'k', ŋ: 'n', ſ: 's' };
const LETTER_RE = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'g');

/** The folded text of a string key value (see the file comment). */
export function foldKeyText(text: string): string {
  let s = text.normalize('NFKD').replace(/[\p{M}\p{Cf}\p{Cc}]/gu, '');
  s = s.toUpperCase().toLowerCase();
  s = s.replace(LETTER_RE, (c) => LETTERS[c] as string).normalize('NFKD').replace(/\p{M}/gu, '');
  // ß is 's' under utf8mb4_general_ci and 'ss' under UCA: collapse runs so that both meet.
  return s.replace(/s+/g, 's').replace(/ +$/, '');
}
