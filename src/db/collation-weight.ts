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

/** The hex weight string of `source` (a column reference or `?`) under the column's collation. */
export function weightSql(source: string, c: CollatedColumn): string {
  let value = `CONVERT(${source} USING ${c.charset})`;
  if (c.prefix !== undefined) value = `LEFT(${value}, ${Math.max(1, Math.floor(c.prefix))})`;
  if (c.trim) value = `TRIM(TRAILING ' ' FROM ${value})`;
  return `HEX(WEIGHT_STRING(${value} COLLATE ${c.collation}${c.padTo !== undefined ? ` AS CHAR(${c.padTo})` : ''}))`;
}
