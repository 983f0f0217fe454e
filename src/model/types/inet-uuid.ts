/**
 * MariaDB's UUID, INET4 and INET6 columns. The binlog row image holds their stored bytes (16, 4, 16;
 * zongji hands them over as a Buffer, the column looking like BINARY(n) under FULL metadata), a query
 * returns their text ('6ccd780c-baba-1026-9564-5b8c656024db', '1.2.3.4', '::ffff:1.2.3.4'). Both travel
 * as the bytes, `{ $b }`: the family reads query fields as text and converts them, and a 16- or 4-byte
 * binary string bound back is stored as it is (checked on MariaDB 10.11: UUID bytes are the text's hex
 * in order, INET6 network order). So binlog and query values compare equal, and the peer stores the
 * same bytes.
 */
import { agnostic } from './any-value.js';
import type { QueryField } from './column-meta.js';
import type { TypeFamily } from './family.js';

/** UUID text → its 16 bytes (undefined when it is no UUID). */
export function uuidBytes(text: string): Buffer | undefined {
  const hex = text.replace(/-/g, '');
  return /^[0-9a-f]{32}$/i.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

/** Dotted-quad text → 4 bytes. */
export function inet4Bytes(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return Buffer.from(parts.map(Number));
}

/** IPv6 text (any RFC 4291 form, with a trailing dotted quad) → 16 bytes. */
export function inet6Bytes(text: string): Buffer | undefined {
  let groups: number[] = [];
  let tail = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = inet4Bytes(v4[1] as string);
    if (!b) return undefined;
    tail = `${text.slice(0, v4.index)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const halves = tail.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  groups = halves.length === 2 ? [...head, ...Array<number>(8 - head.length - rest.length).fill(0), ...rest] : head;
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

const PARSERS: Record<string, (text: string) => Buffer | undefined> = { uuid: uuidBytes, inet4: inet4Bytes, inet6: inet6Bytes };

const column = agnostic('inet-uuid');

/** One family for the three: a query field's text (named by MariaDB's extended metadata) read back as its bytes. */
export const inetUuidFamily: TypeFamily = {
  name: 'inet-uuid',
  column: () => column,
  readField: (field: QueryField, next: () => unknown) => {
    const parse = PARSERS[field.extendedTypeName?.toLowerCase() ?? ''];
    if (!parse) return next();
    const text = field.string('utf8');
    return text === null ? null : (parse(text) ?? text);
  },
};
