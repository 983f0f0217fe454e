/**
 * A key's identity as the server sees it (DESIGN.md section 12: key identity follows the column's
 * collation), for what DRC stores by key: tombstones (db/tombstones.ts). Two keys the server holds equal
 * — 'Alice' and 'alice' under a `_ci` collation, 'e' and 'é' under an accent-insensitive one, 'x' and
 * 'x ' under PAD SPACE — must find one tombstone, or a delete in one spelling lets an older update in
 * another resurrect the row; two keys the server holds apart (DOUBLEs beyond float32 precision) must
 * not share one.
 *
 * The identity is an SQL expression evaluated inside the statement that records or looks tombstones
 * up (no extra round trip): SHA-256 of a text naming each key column (sorted) with, for a character
 * column, the server's weight of the value under the column's charset and collation
 * (db/collation-weight.ts), and for every other column the exact typed canonical text
 * (model/types/: DOUBLE exact, FLOAT at float32, temporal, binary bytes).
 *
 * Writers and readers must describe a table alike: the apply path from information_schema
 * (TableCache), capture from information_schema too (TombstoneRecorder), verify from its column list.
 */
import { createHash } from 'node:crypto';
import { schemaColumnMeta, type ColumnMeta, type SchemaColumnRow } from '../model/types/column-meta.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import { columnTypesOf, typeOf, type ColumnTypes } from '../model/types/row.js';
import { fromWire, type Row } from '../model/value.js';
import { collatedColumn, mayCut, neverCut, paddedWeightSql, weightOfValue, type CollatedColumn } from './collation-weight.js';
import type { Statement } from './sql.js';

export { isNoPad, type CollatedColumn } from './collation-weight.js';

/** How a table's key values are told apart: column types, and the character columns' collations. */
export interface KeyIdentity {
  types?: ColumnTypes;
  collated: ReadonlyMap<string, CollatedColumn>;
}

const cache = new WeakMap<readonly ColumnMeta[], KeyIdentity>();

/**
 * The identity description of a table's columns (information_schema-shaped ColumnMeta; only character
 * columns of the text family with a charset and collation are collated). Memoised per array.
 */
export function keyIdentityOf(columns: readonly ColumnMeta[] | undefined, types?: ColumnTypes): KeyIdentity {
  if (!columns) return { ...(types ? { types } : {}), collated: new Map() };
  const known = cache.get(columns);
  if (known && (types === undefined || known.types === types)) return known;
  const t = types ?? columnTypesOf(columns);
  const collated = new Map<string, CollatedColumn>();
  for (const c of columns) {
    if (c.name === undefined || !c.charset || !c.collation || typeOf(t, c.name).family !== 'text') continue;
    collated.set(c.name, collatedColumn({ ...c, charset: c.charset, collation: c.collation }));
  }
  const identity: KeyIdentity = { types: t, collated };
  cache.set(columns, identity);
  return identity;
}

/**
 * The key's identity as an SQL expression (BINARY(32): SHA-256 of its identity text, see the file
 * comment) with its parameters, to embed where a statement records or looks up a key. `padded`: the
 * identity as stored before values whose padded weight is cut were weighed whole (identity_version 1,
 * db/collation-weight.ts); it differs only where paddedIdentityDiffers.
 */
export function keyIdentitySql(key: Row, identity: KeyIdentity, form: 'exact' | 'padded' = 'exact'): Statement {
  const parts: string[] = [];
  const params: unknown[] = [];
  let text = '[';
  Object.keys(key)
    .sort()
    .forEach((column, i) => {
      const value = key[column] ?? null;
      const type = typeOf(identity.types, column);
      text += `${i > 0 ? ',' : ''}[${JSON.stringify(column)},`;
      const collated = identity.collated.get(column);
      if (collated && value !== null) {
        const bound = fromWire(value, type);
        const weight = form === 'padded' ? { sql: paddedWeightSql('?', collated), params: [bound] } : weightOfValue(bound, collated);
        params.push(`${text}{"w":"`, ...weight.params);
        parts.push('?', weight.sql);
        text = '"}';
      } else text += JSON.stringify(type.keyText(value));
      text += ']';
    });
  params.push(`${text}]`);
  parts.push('?');
  return { sql: `UNHEX(SHA2(CONCAT(${parts.join(', ')}), 256))`, params };
}

/**
 * Whether the key's padded identity (keyIdentitySql's `padded`) may differ from its exact one: a
 * character value whose padded weight may be cut. Tombstones recorded before the change (identity_version
 * 1) are then looked up by it too, until they expire.
 */
export function paddedIdentityDiffers(key: Row, identity: KeyIdentity): boolean {
  return Object.keys(key).some((column) => {
    const collated = identity.collated.get(column);
    const value = key[column] ?? null;
    return collated !== undefined && value !== null && mayCut(collated) && !neverCut(fromWire(value, typeOf(identity.types, column)), collated);
  });
}

/**
 * The identity tombstones were stored under before (SHA-256 of the type-agnostic canonicalKey): still
 * looked up until they expire (apply.tombstoneRetention, 24 h by default) after an upgrade.
 */
export const legacyKeyHash = (key: Row): Buffer => createHash('sha256').update(canonicalKey(key)).digest();

/** A table by name. */
export interface TableName {
  schema: string;
  table: string;
}

/** The map key of a table in readKeyIdentities' result (unambiguous for names with dots). */
export const tableKey = (t: TableName): string => JSON.stringify([t.schema, t.table]);

/**
 * The key identities of these tables as information_schema describes them now, in one query, by
 * tableKey; a table that does not exist is absent (its keys then identify by exact typed text: none).
 */
export async function readKeyIdentities(db: { query(sql: string, params?: unknown[]): Promise<[unknown, unknown]> }, tables: TableName[]): Promise<Map<string, KeyIdentity>> {
  const out = new Map<string, KeyIdentity>();
  if (tables.length === 0) return out;
  const [rows] = (await db.query(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME
     FROM information_schema.COLUMNS WHERE ${tables.map(() => '(TABLE_SCHEMA = ? AND TABLE_NAME = ?)').join(' OR ')} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    tables.flatMap((t) => [t.schema, t.table]),
  )) as [(SchemaColumnRow & { s: string; t: string })[], unknown];
  const byTable = new Map<string, ColumnMeta[]>();
  for (const r of rows) {
    const name = tableKey({ schema: r.s, table: r.t });
    byTable.set(name, [...(byTable.get(name) ?? []), schemaColumnMeta(r)]);
  }
  for (const [name, columns] of byTable) out.set(name, keyIdentityOf(columns));
  return out;
}
