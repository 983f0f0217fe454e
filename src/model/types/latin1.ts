/**
 * MariaDB's latin1, byte for byte: cp1252, except that the five bytes cp1252 leaves undefined
 * (0x81 0x8D 0x8F 0x90 0x9D) map to the C1 controls U+0081 … U+009D. That is the server's own table
 * (checked against MariaDB 10.11: `HEX(CONVERT(x'80…9f' USING utf8mb4))`), a bijection on all 256
 * bytes, so a latin1 value decoded with it is the text a utf8mb4 query returns, and that text written
 * back through a utf8mb4 connection is converted by the server to the original bytes.
 */

/** Code points of bytes 0x80–0x9F; every other byte is its own code point. */
const C1 = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

const TO_CHAR = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b >= 0x80 && b < 0xa0 ? (C1[b - 0x80] as number) : b));
const TO_BYTE = new Map(TO_CHAR.map((c, b) => [c, b]));

/** latin1 bytes → text, exactly as the server converts them. */
export function latin1Decode(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += TO_CHAR[b];
  return out;
}

/** Text → latin1 bytes; undefined when a character has no latin1 byte (the server would store '?'). */
export function latin1Encode(text: string): Buffer | undefined {
  const out = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const b = TO_BYTE.get(text[i] as string);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}
