/**
 * A character value's identity as the server's collation sees it: the hex of its WEIGHT_STRING under
 * the column's charset and collation, as one SQL expression over a column or a parameter. The one
 * place that knows how (tombstones by key, db/key-identity.ts; unique-value claims, apply/sql/claims.ts):
 *
 * - PAD SPACE collations ignore trailing spaces, WEIGHT_STRING keeps them: the value is padded to the
 *   column's length in characters (`AS CHAR(n)`), or, where the column declares none (TEXT), trimmed;
 * - NO PAD collations (MariaDB `…nopad…`, MySQL `_0900_`) keep them: the value as it is;
 * - a key prefix (`UNIQUE KEY (name(10))`) compares the first characters only: LEFT in the column's
 *   charset (characters, not bytes), then padded to the prefix under PAD SPACE.
 *
 * `AS CHAR(n)` also cuts the weight string to n weights per level, and a character may weigh more than
 * one (expansions: 'ß' = 'ss' under utf8mb4_unicode_ci, every Han character under the UCA 5.2 and
 * 14.0 collations, accents at levels 2 and 3 of the `_as_`/`_cs`/`_w2` ones): 'kßz' in a VARCHAR(3) was
 * weighed as 'kss', and two keys the server holds apart shared one identity (a tombstone of one held
 * the other back). Under a collation that may expand, a value is *cut* when, at some level, its weights
 * padded to 8n are not its weights padded to n followed by a space's (a character weighs at most 8
 * collation elements in MariaDB's UCA, so 8n holds every value whole); a cut value is identified by a
 * hash of its 8n-padded weights, marked with a leading '+'. Both the test and the 8n weights depend on
 * the weights alone, so values the server holds equal ('müller' and 'muller' under `_ai_cs`, whose
 * umlaut weighs as a space at level 3) agree; every value that is not cut keeps the padded form it
 * always had, so identities stored before stay valid.
 */
import type { ColumnMeta } from '../model/types/column-meta.js';

/** A character column compared by the server under its collation. */
export interface CollatedColumn {
  charset: string;
  collation: string;
  /** PAD SPACE: the length in characters values are padded to (the column's, or the key prefix's); undefined for NO PAD. */
  padTo: number | undefined;
  /** PAD SPACE with no declared length (TEXT without a key prefix): trailing spaces are trimmed instead. */
  trim: boolean;
  /** A key prefix: only the first this many characters count. */
  prefix?: number;
}

/** Charset and collation names are inlined into SQL: only the server's own plain names pass. */
export const isPlainName = (name: string): boolean => /^[A-Za-z0-9_]+$/.test(name);

/** NO PAD collations: MariaDB names them `…nopad…`, MySQL's `_0900_` (UCA 9.0.0) ones are NO PAD. */
export const isNoPad = (collation: string): boolean => /nopad|_0900_/i.test(collation);

/**
 * How a column with a charset and collation is weighed (`prefix`: a key prefix, in characters).
 * Throws on a charset or collation name that is not a plain server name.
 */
export function collatedColumn(meta: Pick<ColumnMeta, 'name' | 'columnType'> & { charset: string; collation: string }, prefix?: number): CollatedColumn {
  if (!isPlainName(meta.charset) || !isPlainName(meta.collation)) throw new Error(`unexpected charset or collation name on column ${meta.name ?? '?'}`);
  const declared = /^(?:var)?char\((\d+)\)/.exec(meta.columnType ?? '')?.[1];
  const length = declared === undefined ? prefix : Math.min(Number(declared), prefix ?? Number(declared));
  const noPad = isNoPad(meta.collation);
  return {
    charset: meta.charset,
    collation: meta.collation,
    padTo: noPad || length === undefined ? undefined : Math.max(1, length),
    trim: !noPad && length === undefined,
    ...(prefix !== undefined ? { prefix } : {}),
  };
}

/**
 * Collations whose characters weigh one weight per level at most (MariaDB's `_general_` ones, `_bin`,
 * the simple latin1 ones): the padded weight can never be cut short. Under the others (UCA, their
 * tailorings, latin1_german2_ci's 'ß' = 'ss') it can.
 */
const SINGLE_WEIGHT = /(_bin|_general_ci|_general_nopad_ci|_general_mysql500_ci|^latin1_(swedish|general|spanish)_c[is])$/;

/** Whether a value's padded weight can be cut short under this column (PAD SPACE and a collation with expansions). */
export const mayCut = (c: CollatedColumn): boolean => c.padTo !== undefined && !SINGLE_WEIGHT.test(c.collation);

/** Charsets that keep printable ASCII as it is (sjis does not: '\\' becomes a two-byte character). */
const ASCII_KEEPING = new Set(['utf8mb4', 'utf8mb3', 'utf8', 'latin1', 'ascii', 'ucs2', 'utf16', 'utf16le', 'utf32']);

/**
 * Printable ASCII weighs one weight per level at most under every collation of these charsets (tested
 * against the server: test/integration/collation-weights.test.ts), so its padded weight is never cut:
 * such a parameter is weighed by the plain padded form, one bound value instead of eight — the same text
 * weightSql gives it.
 */
export const neverCut = (value: unknown, c: CollatedColumn): boolean => ASCII_KEEPING.has(c.charset) && typeof value === 'string' && /^[\x20-\x7e]*$/.test(value);

const valueOf = (source: string, c: CollatedColumn): string => {
  let value = `CONVERT(${source} USING ${c.charset})`;
  if (c.prefix !== undefined) value = `LEFT(${value}, ${Math.max(1, Math.floor(c.prefix))})`;
  if (c.trim) value = `TRIM(TRAILING ' ' FROM ${value})`;
  return value;
};

/** The weight form every identity stored before expansions were handled used: padded (and cut) to padTo. */
export function paddedWeightSql(source: string, c: CollatedColumn): string {
  return `HEX(WEIGHT_STRING(${valueOf(source, c)} COLLATE ${c.collation}${c.padTo !== undefined ? ` AS CHAR(${c.padTo})` : ''}))`;
}

/**
 * The hex weight string of `source` (a column reference or `?`) under the column's collation, and how
 * many times `source` appears in it (where a padded weight can be cut, mayCut: eight — a `?` is then
 * bound as often, weightOfValue does it). Levels are compared one by one without the LEVEL clause
 * (MySQL 8 has none): a weight string padded to m characters holds each level as m weights of two
 * bytes (UCA; MariaDB's multi-level collations lay the levels out one after the other), so level l is
 * the l-th slice of 2m bytes; a collation with fewer levels has empty slices beyond them, and one with
 * narrower weights (one level) is compared whole by the first slice.
 */
export function weighing(source: string, c: CollatedColumn): { sql: string; uses: number } {
  const n = c.padTo;
  if (!mayCut(c) || n === undefined) return { sql: paddedWeightSql(source, c), uses: 1 };
  const w = (v: string, as: number) => `WEIGHT_STRING(${v} COLLATE ${c.collation} AS CHAR(${as}))`;
  const v = valueOf(source, c);
  const slice = (weights: string, chars: number, level: number) => `SUBSTRING(${weights}, ${(level - 1) * 2 * chars + 1}, ${2 * chars})`;
  const space = w(`CONVERT(' ' USING ${c.charset})`, 7 * n);
  const cut = [1, 2, 3].map((l) => `${slice(w(v, 8 * n), 8 * n, l)} <> CONCAT(${slice(w(v, n), n, l)}, ${slice(space, 7 * n, l)})`).join(' OR ');
  return { sql: `IF(${cut}, CONCAT('+', SHA2(HEX(${w(v, 8 * n)}), 256)), HEX(${w(v, n)}))`, uses: 8 };
}

/** weighing's SQL. */
export const weightSql = (source: string, c: CollatedColumn): string => weighing(source, c).sql;

/** The weight of a bound value: its SQL and the parameters it binds (the value once where it cannot be cut, else as often as weighing uses it). */
export function weightOfValue(value: unknown, c: CollatedColumn): { sql: string; params: unknown[] } {
  if (!mayCut(c) || neverCut(value, c)) return { sql: paddedWeightSql('?', c), params: [value] };
  const { sql, uses } = weighing('?', c);
  return { sql, params: Array.from({ length: uses }, () => value) };
}
