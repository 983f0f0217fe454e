/**
 * The SQL `drc verify` compares with: the server computes what is compared, so the comparison never
 * depends on how the JavaScript driver decodes a value (float32 rounding, a lossy charset decode, a
 * JSON document parsed and re-printed). Pure: column descriptions in, SQL text out.
 *
 * - Each column becomes a text that is injective in the stored value: the raw bytes of strings,
 *   binary strings, JSON and geometry (SRID + WKB); the exact decimal text of integers, DECIMAL and
 *   temporal values (fractional digits included, TIMESTAMP in the session's UTC); FLOAT and DOUBLE as
 *   the shortest text that reads back as the same double (FLOAT widened to double first, so the last
 *   bit of a float shows), with the sign of a zero; ENUM, SET and BIT as their numbers (ENUM '' at
 *   index 0 is not the member ''). A row's digest is MD5 over every column's MD5 (of the text's
 *   bytes), NULL marked apart from every value, so NULL, '' and '0' differ, and trailing spaces or
 *   0x00 bytes count.
 * - Keys are read as the HEX of the same texts and bound back with UNHEX, converted to the column's
 *   own character set and collation (so an index serves the lookup, and a key of latin1 or binary
 *   bytes finds its row whatever the driver would have decoded).
 */
import { quoteId } from '../db/sql.js';

/** One column of a compared table (information_schema.COLUMNS). */
export interface VerifyColumn {
  name: string;
  /** DATA_TYPE, lower case. */
  dataType: string;
  /** COLUMN_TYPE, lower case. */
  columnType: string;
  charset: string | null;
  collation: string | null;
  /** VIRTUAL or STORED generated: compared (recomputed from the others), never written by a repair. */
  generated: boolean;
}

const INTEGER = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const FLOATING = new Set(['float', 'double', 'real', 'double precision']);
const EXACT_TEXT = new Set(['decimal', 'numeric', 'date', 'datetime', 'timestamp', 'time', 'year', ...INTEGER]);
const NUMBERED = new Set(['enum', 'set', 'bit']);
const CHARACTER = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
const BYTES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const GEOMETRY = new Set(['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection', 'geomcollection']);

/** The column's value as an SQL text expression whose bytes differ whenever the stored values do. */
export function valueText(c: VerifyColumn): string {
  const q = quoteId(c.name);
  if (FLOATING.has(c.dataType)) return `IF(${q} = 0 AND ATAN2(${q}, -1) < 0, '-0', CAST(CAST(${q} AS DOUBLE) AS CHAR))`;
  if (EXACT_TEXT.has(c.dataType)) return `CAST(${q} AS CHAR)`;
  if (NUMBERED.has(c.dataType)) return `CAST(${q} + 0 AS CHAR)`;
  if (CHARACTER.has(c.dataType) || BYTES.has(c.dataType) || c.dataType === 'json' || c.charset !== null) return q;
  // Geometry (its stored SRID + WKB) and anything else (UUID, INET6, …): the value as a byte string,
  // never a number as it is (a FLOAT's own text has 6 digits, HEX(1.5) is '2').
  return GEOMETRY.has(c.dataType) ? q : `CAST(${q} AS BINARY)`;
}

/**
 * One column's part of a row digest: NULL as `-`, a value as `=` and the MD5 of its text's bytes. Not
 * HEX(): a string function whose result exceeds max_allowed_packet returns NULL (warning 1301), so the
 * HEX of a value over half of it (an 8 MB BLOB at MariaDB's default 16 MB) would compare as NULL.
 */
export const digestPart = (c: VerifyColumn): string => `IFNULL(CONCAT('=', MD5(${valueText(c)})), '-')`;

/** The row's digest over `columns`, computed by the server. */
export const rowDigest = (columns: readonly VerifyColumn[]): string => `MD5(CONCAT_WS(',', ${columns.map(digestPart).join(', ')}))`;

/** A key column read as HEX text (what keyBind takes back). */
export const keyRead = (c: VerifyColumn): string => `HEX(${valueText(c)})`;

const NAME = /^[A-Za-z0-9_]+$/;

/** The SQL that turns a keyRead hex parameter back into a value of the column's own type. */
export function keyBind(c: VerifyColumn): string {
  const text = 'CONVERT(UNHEX(?) USING utf8mb4)';
  if (BYTES.has(c.dataType)) return 'UNHEX(?)';
  if (c.charset !== null && !NUMBERED.has(c.dataType)) {
    if (!NAME.test(c.charset) || !NAME.test(c.collation ?? '')) throw new Error(`unexpected character set ${c.charset} / collation ${c.collation} of a key column`);
    return `CONVERT(UNHEX(?) USING ${c.charset}) COLLATE ${c.collation}`;
  }
  const cast = castTarget(c);
  return cast ? `CAST(${text} AS ${cast})` : text;
}

function castTarget(c: VerifyColumn): string | undefined {
  if (INTEGER.has(c.dataType)) return c.columnType.includes('unsigned') ? 'UNSIGNED' : 'SIGNED';
  if (NUMBERED.has(c.dataType) || c.dataType === 'year') return 'UNSIGNED';
  if (FLOATING.has(c.dataType)) return 'DOUBLE';
  if (c.dataType === 'decimal' || c.dataType === 'numeric') {
    const m = /\((\d+)(?:,\s*(\d+))?\)/.exec(c.columnType);
    return `DECIMAL(${m?.[1] ?? 65}, ${m?.[2] ?? 0})`;
  }
  if (c.dataType === 'date') return 'DATE';
  if (c.dataType === 'datetime' || c.dataType === 'timestamp') return 'DATETIME(6)';
  if (c.dataType === 'time') return 'TIME(6)';
  return undefined;
}

/** `(k1, k2) > (…)`-style comparison of the key columns with bound hex parameters. */
export const keyCompare = (pk: readonly VerifyColumn[], op: '>' | '<=' | '='): string =>
  pk.length === 1 ? `${quoteId(pk[0]!.name)} ${op} ${keyBind(pk[0]!)}` : `(${pk.map((c) => quoteId(c.name)).join(', ')}) ${op} (${pk.map(keyBind).join(', ')})`;
