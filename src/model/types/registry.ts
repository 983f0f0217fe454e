/**
 * The column-type registry: picks a column's type family from whatever metadata the caller has
 * (binlog table map, information_schema, a result field). Supporting or fixing a type is one entry
 * here plus its family module; capture, apply, verify and version parsing all come through it.
 */
import { anyColumn } from './any-value.js';
import { binaryFamily } from './binary.js';
import { bitFamily } from './bit.js';
import { TypeCode, fieldColumnMeta, type ColumnMeta, type QueryField } from './column-meta.js';
import { decimalFamily } from './decimal.js';
import { enumSetFamily } from './enum-set.js';
import { uniform, type ColumnType, type TypeFamily } from './family.js';
import { floatFamily } from './float.js';
import { geometryFamily } from './geometry.js';
import { inetUuidFamily } from './inet-uuid.js';
import { integerFamily } from './integer.js';
import { jsonFamily } from './json.js';
import { temporalFamily, timeFamily } from './temporal.js';
import { textFamily } from './text.js';
import { yearFamily } from './year.js';

/** Columns whose type DRC cannot tell (no metadata, unknown types): today's type-agnostic handling. */
export const anyFamily = uniform('any', anyColumn);

export const FAMILIES: readonly TypeFamily[] = [
  anyFamily,
  integerFamily,
  decimalFamily,
  floatFamily,
  temporalFamily,
  timeFamily,
  yearFamily,
  textFamily,
  binaryFamily,
  enumSetFamily,
  bitFamily,
  jsonFamily,
  geometryFamily,
  inetUuidFamily,
];

const T = TypeCode;
const BY_CODE = new Map<number, TypeFamily>([
  ...[T.TINY, T.SHORT, T.INT24, T.LONG, T.LONGLONG].map((c) => [c, integerFamily] as const),
  ...[T.DECIMAL, T.NEWDECIMAL].map((c) => [c, decimalFamily] as const),
  ...[T.FLOAT, T.DOUBLE].map((c) => [c, floatFamily] as const),
  ...[T.TIMESTAMP, T.DATE, T.DATETIME, T.NEWDATE, T.TIMESTAMP2, T.DATETIME2].map((c) => [c, temporalFamily] as const),
  ...[T.TIME, T.TIME2].map((c) => [c, timeFamily] as const),
  [T.YEAR, yearFamily],
  ...[T.ENUM, T.SET].map((c) => [c, enumSetFamily] as const),
  [T.BIT, bitFamily],
  [T.JSON, jsonFamily],
  [T.GEOMETRY, geometryFamily],
]);

/** Codes shared by character and binary strings: the charset tells them apart. */
const STRING_CODES = new Set<number>([T.VARCHAR, T.VAR_STRING, T.STRING, T.TINY_BLOB, T.MEDIUM_BLOB, T.LONG_BLOB, T.BLOB, T.BLOB_COMPRESSED, T.VARCHAR_COMPRESSED]);

const BY_DATA_TYPE = new Map<string, TypeFamily>([
  ...['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint'].map((n) => [n, integerFamily] as const),
  ...['decimal', 'numeric'].map((n) => [n, decimalFamily] as const),
  ...['float', 'double', 'real'].map((n) => [n, floatFamily] as const),
  ...['date', 'datetime', 'timestamp'].map((n) => [n, temporalFamily] as const),
  ['time', timeFamily],
  ['year', yearFamily],
  ...['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext'].map((n) => [n, textFamily] as const),
  ...['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob'].map((n) => [n, binaryFamily] as const),
  ...['enum', 'set'].map((n) => [n, enumSetFamily] as const),
  ['bit', bitFamily],
  ['json', jsonFamily],
  ...['uuid', 'inet4', 'inet6'].map((n) => [n, inetUuidFamily] as const),
  ...['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection', 'geomcollection'].map(
    (n) => [n, geometryFamily] as const,
  ),
]);

/** MariaDB logical types riding on binary strings (zongji prints UUID/INET as text): not bytes, not text yet. */
const LOGICAL_STRING = /^(uuid|inet4|inet6|vector)\b/;

/** The family of the column described (the type-agnostic family when the metadata cannot tell). */
export function familyOf(meta: ColumnMeta): TypeFamily {
  const named = meta.dataType === undefined ? undefined : BY_DATA_TYPE.get(meta.dataType);
  if (named) return named;
  if (meta.typeCode === undefined) return anyFamily;
  if (STRING_CODES.has(meta.typeCode)) return stringFamily(meta);
  return BY_CODE.get(meta.typeCode) ?? anyFamily;
}

function stringFamily(meta: ColumnMeta): TypeFamily {
  if (meta.columnType !== undefined && LOGICAL_STRING.test(meta.columnType)) return anyFamily;
  if (meta.charset === null || meta.charset === 'binary') return binaryFamily;
  return meta.charset === undefined ? anyFamily : textFamily;
}

/** The column type of the column described. */
export const columnType = (meta: ColumnMeta): ColumnType => familyOf(meta).column(meta);

/** mysql2's typeCast signature (see db/connect.ts). */
export type TypeCast = (field: QueryField, next: () => unknown) => unknown;

/**
 * A typeCast that lets each family read its own result fields, or undefined when no family needs to
 * (then the pools keep mysql2's default decoding, and its speed). GEOMETRY and MariaDB's UUID/INET fields are.
 */
export function queryTypeCast(families: readonly TypeFamily[] = FAMILIES, pick: (meta: ColumnMeta) => TypeFamily = familyOf): TypeCast | undefined {
  if (!families.some((f) => f.readField)) return undefined;
  const byType = new Map<string, TypeFamily>();
  return (field, next) => {
    const kind = field.extendedTypeName ? `${field.type}:${field.extendedTypeName}` : field.type;
    let family = byType.get(kind);
    if (!family) byType.set(kind, (family = pick(fieldColumnMeta(field))));
    return family.readField ? family.readField(field, next) : next();
  };
}
