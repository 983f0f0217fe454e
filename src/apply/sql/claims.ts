/**
 * Statements of unique-value claims (apply/unique-claims.ts). Pure; values always travel as parameters.
 *
 * Value identity is the server's: a string column's part is its weight string under the column's
 * collation (case- and accent-insensitivity, trailing spaces under PAD SPACE, as the unique index sees
 * them: db/collation-weight.ts, as tombstone keys). The same expression is applied to a column of a
 * stored row and to a parameter, so both give the same text.
 */
import { collatedColumn, isPlainName, weightOfValue, weightSql } from '../../db/collation-weight.js';
import { quoteId, tableRef, type Statement } from '../../db/sql.js';
import type { ColumnMeta } from '../../model/types/column-meta.js';
import { selectList, type ColumnTypes } from '../../model/types/row.js';
import { fromWire, type Row } from '../../model/value.js';
import type { ClaimRecord } from '../unique-claims.js';

/** The column of a statement below naming the lookup (its index) a row answers. */
export const LOOKUP_COLUMN = 'drc lookup';
/** The column holding the weight string (hex) of string column `c` (of its first `prefix` characters: a key prefix). */
export const weightColumn = (c: string, prefix?: number) => (prefix === undefined ? `drc w ${c}` : `drc w ${c} ${prefix}`);

/**
 * A weight a claim is identified by: of a string column (under its collation), or of the first
 * `prefix` characters (bytes, for a binary column) a prefix key (`UNIQUE KEY (name(10))`) holds.
 */
export interface Weighed {
  column: string;
  prefix?: number;
}

const weighed = (w: string | Weighed): Weighed => (typeof w === 'string' ? { column: w } : w);

/** A lookup of the rows holding `values` in `columns`; `prefixes`: the key's prefix lengths, by column. */
export interface Lookup {
  columns: string[];
  values: Row;
  prefixes?: Readonly<Record<string, number>>;
}

/** Whether the server collates this column (a non-binary string): its identity part is a weight string. */
export function collated(meta: ColumnMeta | undefined): meta is ColumnMeta & { charset: string; collation: string } {
  return !!meta && typeof meta.charset === 'string' && typeof meta.collation === 'string' && meta.charset !== 'binary' && isPlainName(meta.charset) && isPlainName(meta.collation);
}

/**
 * The weight string (hex) of `source` (a column reference or `?`) under the column's collation
 * (db/collation-weight.ts), of its first `prefix` characters where given; a binary column's first
 * `prefix` bytes.
 */
export function weightExpr(source: string, meta: ColumnMeta, prefix?: number): string {
  if (collated(meta)) return weightSql(source, collatedColumn(meta, prefix));
  if (prefix === undefined) throw new Error(`column ${meta.name ?? '?'} is not collated: its claim part is its value`);
  return `HEX(LEFT(${source}, ${Math.max(1, Math.floor(prefix))}))`;
}

/** weightExpr of a bound value, with the parameters it binds (db/collation-weight.ts weightOfValue: the same text as of a stored column). */
export function valueWeightExpr(value: unknown, meta: ColumnMeta, prefix?: number): Statement {
  if (collated(meta)) return weightOfValue(value, collatedColumn(meta, prefix));
  return { sql: weightExpr('?', meta, prefix), params: [value] };
}

/**
 * Collations under which LIKE compares one character with one character exactly as `=` does (no
 * expansions or contractions such as German ß = ss in the UCA collations): `_bin` and MariaDB's
 * single-weight `_general_` collations. Under them a prefix lookup can also say `LIKE 'prefix%'`,
 * which the index serves as a range; under the others it must scan.
 */
const LIKE_AGREES = /(_bin|_general_ci|_general_nopad_ci|_general_mysql500_ci)$/;

/**
 * `column LIKE 'p%'` for p the first `n` characters of `source` with LIKE's wildcards escaped (and
 * trailing spaces trimmed where `collation` pads: PAD SPACE), under the column's own collation, so
 * that the index serves it as a range.
 */
const startsWith = (column: string, source: string, n: number, collation?: string) => {
  const head = collation ? `RTRIM(LEFT(${source}, ${n}))` : `LEFT(${source}, ${n})`;
  const pattern = `CONCAT(REPLACE(REPLACE(REPLACE(${head}, '!', '!!'), '%', '!%'), '_', '!_'), '%')`;
  return `${quoteId(column)} LIKE ${collation ? `(${pattern} COLLATE ${collation})` : pattern} ESCAPE '!'`;
};

/**
 * The condition of a lookup's column, with its parameters: equal to `value`, under the column's
 * collation; for a prefix key, its first characters equal the value's (as the unique index compares
 * them). `LEFT(col, n)` alone cannot use the index: a prefix lookup would scan, and lock, the whole
 * table; where LIKE agrees with `=` (binary values, LIKE_AGREES) a `LIKE 'prefix%'` range narrows it
 * first (a superset: trailing spaces trimmed), and the exact comparison decides.
 */
export function lookupCondition(column: string, meta: ColumnMeta | undefined, prefix: number | undefined, value: unknown): { sql: string; params: unknown[] } {
  if (prefix === undefined) return { sql: `${quoteId(column)} = ?`, params: [value] };
  const n = Math.max(1, Math.floor(prefix));
  if (!collated(meta)) return { sql: `${startsWith(column, '?', n)} AND LEFT(${quoteId(column)}, ${n}) = LEFT(?, ${n})`, params: [value, value] };
  const converted = `CONVERT(? USING ${meta.charset})`;
  const exact = `LEFT(${quoteId(column)}, ${n}) = LEFT(${converted}, ${n}) COLLATE ${meta.collation}`;
  if (!LIKE_AGREES.test(meta.collation)) return { sql: exact, params: [value] };
  return { sql: `${startsWith(column, converted, n, meta.collation)} AND ${exact}`, params: [value, value] };
}

export interface WeightedTable {
  columns: Iterable<string>;
  columnTypes?: ColumnTypes;
  columnMeta?: ColumnMeta[];
}

const metaOf = (t: WeightedTable, column: string) => t.columnMeta?.find((m) => m.name === column);

/**
 * Rows matching each lookup (`columns = values`, compared by the server under their collations),
 * locked, each with LOOKUP_COLUMN and the weight strings of `weighted` (string columns of unique keys).
 * One point lookup per entry, joined by UNION ALL (as selectByKeys, for the same lock reason).
 */
export function rowsWithWeights(schema: string, table: string, lookups: Lookup[], t: WeightedTable, weighted: (string | Weighed)[]): Statement {
  const params: unknown[] = [];
  const cols = selectList([...t.columns], t.columnTypes, quoteId);
  const weights = weighted.map(weighed).map(({ column, prefix }) => `${weightExpr(quoteId(column), metaOf(t, column) ?? {}, prefix)} AS ${quoteId(weightColumn(column, prefix))}`);
  const parts = lookups.map(({ columns, values, prefixes }, i) => {
    const conditions = columns.map((c) => lookupCondition(c, metaOf(t, c), prefixes?.[c], fromWire(values[c] ?? null)));
    for (const c of conditions) params.push(...c.params);
    const where = conditions.map((c) => c.sql).join(' AND ');
    return `(SELECT ${i} AS ${quoteId(LOOKUP_COLUMN)}, ${[...weights, cols].join(', ')} FROM ${tableRef(schema, table)} WHERE ${where} FOR UPDATE)`;
  });
  return { sql: parts.join(' UNION ALL '), params };
}

/**
 * The weight strings of string values not stored anywhere yet: one row per entry, with LOOKUP_COLUMN.
 * Every row has the same columns (a UNION needs them): an entry without a value for one gets NULL.
 */
export function valueWeights(entries: { values: Row; columns: (string | Weighed)[] }[], t: WeightedTable): Statement {
  const params: unknown[] = [];
  const all = new Map<string, Weighed>();
  for (const e of entries) for (const w of e.columns.map(weighed)) all.set(weightColumn(w.column, w.prefix), w);
  const parts = entries.map(({ values, columns }, i) => {
    const wanted = new Set(columns.map(weighed).map((w) => weightColumn(w.column, w.prefix)));
    const exprs = [...all].map(([name, { column, prefix }]) => {
      if (!wanted.has(name)) return `NULL AS ${quoteId(name)}`;
      const w = valueWeightExpr(fromWire(values[column] ?? null), metaOf(t, column) ?? {}, prefix);
      params.push(...w.params);
      return `${w.sql} AS ${quoteId(name)}`;
    });
    return `SELECT ${i} AS ${quoteId(LOOKUP_COLUMN)}${exprs.length ? ', ' : ''}${exprs.join(', ')}`;
  });
  return { sql: parts.join(' UNION ALL '), params };
}

/** Appliers record claims in `unique_claims`; capture records those of local releases in `local_claims`. */
export type ClaimTable = 'unique_claims' | 'local_claims';

/**
 * The recorded claims of these ids (hex), from both tables (keep the newest per id). A plain read,
 * like the tombstones' — of `unique_claims` rows this transaction has locked first (lockClaims), so
 * it reads what the last transaction to decide on them committed. Placeholders are no claims.
 */
export function findClaims(ids: string[]): Statement {
  const hashes = ids.map((id) => Buffer.from(id, 'hex'));
  return {
    sql: `SELECT LOWER(HEX(claim_hash)) AS id, version, rank_text, rank_hash FROM drc_meta.unique_claims WHERE claim_hash IN (?) AND origin <> ''
     UNION ALL
     SELECT LOWER(HEX(claim_hash)) AS id, version, rank_text, rank_hash FROM drc_meta.local_claims WHERE claim_hash IN (?)`,
    params: [hashes, hashes],
  };
}

/**
 * Lock the `unique_claims` rows of these ids (hex) for the rest of the transaction, creating a
 * placeholder (no origin, the lowest rank: never newer than a real claim, skipped by findClaims) where
 * none is stored. Two streams applying claimants of one value side by side (Y from b and X from a,
 * in c) would otherwise both decide on no claim and both win: a loser's claim holds no row the server
 * could make the other wait on. Ids in order, so that two transactions lock in the same order.
 */
export function lockClaims(ids: string[]): Statement {
  const sorted = [...ids].sort();
  return {
    sql: `INSERT INTO drc_meta.unique_claims (claim_hash, schema_name, table_name, key_columns, version, rank_text, rank_hash, key_json, origin, claimed_at)
     VALUES ${sorted.map(() => "(?, '', '', '[]', NULL, '', ?, '[]', '', UTC_TIMESTAMP(6))").join(', ')}
     ON DUPLICATE KEY UPDATE claim_hash = claim_hash`,
    params: sorted.flatMap((id) => [Buffer.from(id, 'hex'), Buffer.alloc(32)]),
  };
}

const MIN_VERSION = '-9223372036854775808';
/** (version, rank text, rank hash) of the new row greater than the stored one's (null versions lowest; binary comparison). */
const newer = `(COALESCE(VALUES(version), ${MIN_VERSION}), VALUES(rank_text), VALUES(rank_hash)) > (COALESCE(version, ${MIN_VERSION}), rank_text, rank_hash)`;

/**
 * Record claims; a stored claim is replaced only by a newer one (the newest claim of a value only
 * grows). Assignments run left to right: the columns the comparison reads are assigned last, in an
 * order where each assignment leaves the comparison's answer as it was (see the note in the test).
 */
export function recordClaimsStatement(claims: ClaimRecord[], table: ClaimTable = 'unique_claims'): Statement | undefined {
  claims = claims.filter((c) => c.staleUpTo === undefined);
  if (claims.length === 0) return undefined;
  const params: unknown[] = [];
  for (const c of claims) params.push(Buffer.from(c.id, 'hex'), c.schema, c.table, JSON.stringify(c.columns), c.rank.version, c.rank.text, c.rank.hash, JSON.stringify(c.key), c.origin);
  return {
    sql: `INSERT INTO drc_meta.${table} (claim_hash, schema_name, table_name, key_columns, version, rank_text, rank_hash, key_json, origin, claimed_at)
     VALUES ${claims.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))').join(', ')}
     ON DUPLICATE KEY UPDATE
       key_json = IF(${newer}, VALUES(key_json), key_json),
       origin = IF(${newer}, VALUES(origin), origin),
       claimed_at = IF(${newer}, VALUES(claimed_at), claimed_at),
       rank_hash = IF(${newer}, VALUES(rank_hash), rank_hash),
       rank_text = IF(${newer}, VALUES(rank_text), rank_text),
       version = IF(${newer}, VALUES(version), version)`,
    params,
  };
}

/**
 * Drop the recorded claims `staleUpTo` names (unique-claims.ts ClaimRecord): of the claim's id, those not
 * newer than that version that beat the claim's rank — in unique_claims turned back into a placeholder
 * (its row stays locked for the transaction; findClaims skips it), in local_claims deleted. `local`:
 * the local_claims deletes, to run last before COMMIT (capture writes that table: a lock of it is taken
 * only once nothing else is waited for; db/meta-schema.ts).
 */
export function dropStaleClaimsStatements(claims: ClaimRecord[]): { unique: Statement[]; local: Statement[] } {
  const out = { unique: [] as Statement[], local: [] as Statement[] };
  const beats = `version IS NOT NULL AND version <= ? AND (version, rank_text, rank_hash) > (COALESCE(?, ${MIN_VERSION}), ?, ?)`;
  for (const c of claims) {
    if (c.staleUpTo === undefined) continue;
    const params = [Buffer.from(c.id, 'hex'), c.staleUpTo, c.rank.version, c.rank.text, c.rank.hash];
    out.unique.push({ sql: `UPDATE drc_meta.unique_claims SET origin = '', version = NULL, rank_text = '', rank_hash = ?, key_json = '[]' WHERE claim_hash = ? AND origin <> '' AND ${beats}`, params: [Buffer.alloc(32), ...params] });
    out.local.push({ sql: `DELETE FROM drc_meta.local_claims WHERE claim_hash = ? AND ${beats}`, params });
  }
  return out;
}

/** Claims older than the retention (the tombstones'), a bounded number at a time. */
export function purgeClaimsStatement(table: ClaimTable, retentionMs: number, limit = 5000): Statement {
  return { sql: `DELETE FROM drc_meta.${table} WHERE claimed_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND LIMIT ?`, params: [retentionMs * 1000, limit] };
}
