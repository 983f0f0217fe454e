/**
 * The shapes every type family works with. JSON carries numbers, strings, booleans and null as they
 * are; what JSON cannot carry exactly is tagged: binary as `{ $b: base64 }`. DECIMAL, BIGINT beyond
 * 2^53, DATETIME(6)/TIMESTAMP(6) (UTC), DATE, TIME, ENUM, SET and JSON documents travel as the exact
 * strings the server prints, which every MySQL/MariaDB column accepts back unchanged.
 */

/** One column value on the wire (inside change messages, conflict records, tombstone keys). */
export type WireValue = null | boolean | number | string | { $b: string };

/** A row image or key: column name → wire value. */
export type Row = Record<string, WireValue>;

/** What the database driver (mysql2) binds as a statement parameter. */
export type SqlParam = null | boolean | number | string | Buffer;

/**
 * One value's part of a row's canonical text (see canonical-key.ts and order.ts): JSON-serialisable,
 * so a row's text is the JSON of its sorted `[column, part]` pairs.
 */
export type CanonicalPart = string | [string, string] | null;
