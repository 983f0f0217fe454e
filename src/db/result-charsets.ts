/**
 * Result columns in their stored bytes (issue 12). DRC's pools run with `character_set_results =
 * NULL` (db/connect.ts), so the server sends every value unconverted, labelled with its column's
 * collation. mysql2 would then decode text in the label's charset with its own tables — lossy where
 * they are not the server's (latin1 0x81 is U+FFFD in mysql2's cp1252), and fatal for collation ids it
 * does not know (MariaDB's uca1400 ids 576–610). This module makes mysql2 read those columns the way
 * the binlog side ships them (model/types/text.ts): UTF-8 text as text, every other charset as bytes
 * (a Buffer, exactly as stored), ENUM/SET member text as text. It changes nothing on a connection
 * whose results are converted (they are labelled utf8mb4 or binary).
 *
 * How: mysql2's ColumnDefinition reads `characterSet` (packets/column_definition.js:53) to choose the
 * decoder and the encoding of the column name; an accessor on its prototype reports UTF-8 columns as
 * utf8mb4 (45), other charsets as binary (63) — names are then decoded as the client's UTF-8, which is
 * what the server sends with unconverted results — and leaves ENUM/SET columns' label alone (their
 * members are decoded byte by byte, exact for ASCII members). Columns of DRC's own and the server's
 * schemas keep their label (read as text, as before).
 */
import { createRequire } from 'node:module';
import { META_SCHEMA } from './meta-schema.js';

/**
 * Schemas whose text DRC reads as text whatever their charset: its own (drc_meta takes the server's
 * default charset, latin1 on a stock MariaDB) and the server's. Their text is ASCII in practice.
 */
const TEXT_SCHEMAS = new Set([META_SCHEMA, 'information_schema', 'mysql', 'performance_schema', 'sys']);

/** Collation ids of utf8mb3 and utf8mb4: MariaDB 10.11 (information_schema.COLLATIONS) and MySQL 8.0 (255–323, 76). */
const UTF8_IDS = new Set([
  33, 45, 46, 76, 83, ...range(192, 215), 223, ...range(224, 247), ...range(255, 323), 576, 577, 578, 608, 609, 610, 1057, 1069, 1070, 1107, 1216, 1238, 1248, 1270,
]);
const UTF8MB4 = 45;
const BINARY = 63;
const ENUM_OR_SET = 256 | 2048; // field_flags ENUM, SET

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * What a result column's label is reported as to mysql2 (pure; `flags` is undefined while the packet
 * is read; `schema` is the column's schema, '' for an expression).
 */
export function reportedCharset(id: number, flags: number | undefined, schema = ''): number {
  if (UTF8_IDS.has(id)) return UTF8MB4;
  if (id === BINARY || TEXT_SCHEMAS.has(schema.toLowerCase())) return id;
  return flags !== undefined && (flags & ENUM_OR_SET) !== 0 ? id : BINARY;
}

const RAW = Symbol('drc.rawCharacterSet');

/** The fields of mysql2's ColumnDefinition the accessor reads (set before `characterSet`). */
interface Definition {
  [RAW]?: number;
  flags?: number;
  _buf?: Buffer;
  _schemaStart?: number;
  _schemaLength?: number;
}

/** The column's schema name, read from the packet (mysql2's lazy `schema` getter needs `encoding`, not set yet). */
function schemaOf(def: Definition): string {
  const { _buf: buf, _schemaStart: start, _schemaLength: length } = def;
  return buf && start !== undefined && length !== undefined ? buf.toString('utf8', start, start + length) : '';
}
let installed = false;

/** Install the accessor on mysql2's ColumnDefinition (idempotent; the pools of db/connect.ts call it). */
export function installResultCharsets(): void {
  if (installed) return;
  const require = createRequire(import.meta.url);
  const def = require(new URL('./lib/packets/column_definition.js', import.meta.resolve('mysql2')).pathname) as { prototype: object };
  Object.defineProperty(def.prototype, 'characterSet', {
    configurable: true,
    get(this: Definition) {
      return this[RAW] === undefined ? undefined : reportedCharset(this[RAW], this.flags, schemaOf(this));
    },
    set(this: Definition, v: number) {
      this[RAW] = v;
    },
  });
  installed = true;
}
