/**
 * A conservative JS stand-in for "equal under the column's collation", for write sets (write-set.ts),
 * which must be computed without a round trip. Two texts a server collation may hold equal should fold
 * to the same text; folding more texts together than any collation does is harmless there (two
 * transactions are then ordered that could have run side by side — stricter, never wrong). Row
 * identity on the apply path is never decided here: the server answers it (row-state.ts).
 *
 * What it merges: case (`_ci`), accents and other combining marks (`_ai`, UCA collations), compatibility
 * forms (NFKD: ligatures, full-width letters, superscripts), ignorable format and control characters,
 * decimal digits of every script (UCA: '٣' = '3'), the combining Latin letters U+0363–U+036F, every
 * character beyond the BMP (utf8mb4_general_ci holds them all equal), the letters UCA treats as a base
 * letter with a diacritic or as two letters (ß/ss/s, æ/ae, œ/oe, ø, đ, ł, ħ, ı, þ/th), and trailing
 * spaces (PAD SPACE: 'a' = 'a  ').
 *
 * Checked against MariaDB 10.11's weight strings (test/integration/keys-fold.test.ts): every character
 * utf8mb4_general_ci holds equal in U+0020–U+2FFF (and beyond the BMP), every Latin character
 * (U+0020–U+024F) the UCA collations (unicode_ci, unicode_520_ci, uca1400_ai_ci) hold equal. Not
 * merged yet, under UCA only: non-decimal numerals (circled, Ethiopic, Tibetan half digits), a few
 * letters of other scripts (Georgian, runic, Hebrew final forms, Arabic and Syriac variants, CJK
 * radicals, combining letters of U+1DC0–U+1DFF and U+2DE0–U+2DFF) — some 200–350 characters.
 */

/** Letters NFKD does not decompose that UCA or general_ci compare equal to a base letter or a pair. */
const LETTERS: Record<string, string> = { æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', ł: 'l', ħ: 'h', ı: 'i', þ: 'th', ŀ: 'l', ĸ: 'k', ŋ: 'n', ſ: 's', ß: 'ss' };
const LETTER_RE = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'gu');
/** U+0363–U+036F, combining small letters a e i o u c d h m r t v x: UCA weighs them as the letters. */
const COMBINING_LETTERS = 'aeioucdhmrtvx';

/** A decimal digit of any script as its ASCII digit (digits come in contiguous runs from zero). */
function asciiDigit(ch: string): string {
  let cp = ch.codePointAt(0) as number;
  let value = 0;
  while (value < 9 && /\p{Nd}/u.test(String.fromCodePoint(cp - 1))) {
    cp--;
    value++;
  }
  return String(value);
}

/** The folded text of a string key value (see the file comment). */
export function foldKeyText(text: string): string {
  let s = text.replace(/[\u0345\u037a]/g, 'ι'); // ypogegrammeni: iota under general_ci
  s = s.replace(/[\u0363-\u036f]/g, (c) => COMBINING_LETTERS[(c.codePointAt(0) as number) - 0x363] as string);
  s = s.replace(/[\u{10000}-\u{10ffff}]/gu, '\ufffd');
  // Letters NFKD would split (ŀ → l·) or leave alone (ẞ, æ) first; lower case only here: upper case
  // expands some letters (ᾳ → ΑΙ) that collations hold equal to their base letter.
  s = s.toLowerCase().replace(LETTER_RE, (c) => LETTERS[c] as string);
  s = s.normalize('NFKD').replace(/[\p{M}\p{Cf}\p{Cc}]/gu, '');
  s = s.toUpperCase().toLowerCase().replace(LETTER_RE, (c) => LETTERS[c] as string);
  s = s.normalize('NFKD').replace(/[\p{M}\p{Cf}\p{Cc}]/gu, '');
  s = s.replace(/\p{Nd}/gu, (d) => (d >= '0' && d <= '9' ? d : asciiDigit(d)));
  // ß is 's' under utf8mb4_general_ci and 'ss' under UCA: collapse runs so that both meet.
  return s.replace(/s+/g, 's').replace(/ +$/, '');
}
