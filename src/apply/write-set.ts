/**
 * Write sets and the dependency rule for parallel apply (DESIGN.md section 4): two transactions may
 * run side by side only when they touch no common primary key (old and new, for a key change), no
 * common unique-key value and no common foreign-key parent.
 *
 * Foreign keys (issue 13): a child change adds the parent key values it references (both images), a
 * parent change the values of every column list referenced by a child (both images), under one name,
 * `parent table|ref|columns|values`. A child inserted in a later source transaction than its parent
 * then waits for the parent's commit instead of failing on a missing parent in a parallel worker.
 *
 * "Common" follows the key columns' collations (issue 12): 'alice' and 'Alice' are one key under a
 * `_ci` collation, so their text values are folded (key-fold.ts) before they are compared — a fold
 * that merges more keys than any collation, so ordering is only ever stricter. Binary values (`$b`,
 * including text shipped as bytes) are compared exactly.
 */
import type { ForeignKey } from '../db/table-keys.js';
import type { RowChange } from '../model/change.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { Row } from '../model/value.js';
import { foldKeyText } from './key-fold.js';

/** Unique keys (other than the primary key) of a table: lists of column names. */
export type UniqueKeys = (table: string) => string[][];

/** Beside UniqueKeys (same order): the prefix lengths of each key's columns (`UNIQUE KEY (name(10))`), by column. */
export type UniquePrefixes = (table: string) => readonly Readonly<Record<string, number>>[] | undefined;

/** Foreign keys of a table both ways (table-cache.ts): it as the child, it as the parent. */
export type ForeignKeys = (table: string) => { outgoing: ForeignKey[]; incoming: ForeignKey[] };

const NO_FOREIGN_KEYS: ForeignKeys = () => ({ outgoing: [], incoming: [] });

/**
 * Every key a change touches: `schema.table` + primary key (old and new), each unique-key value of
 * both images, and the foreign-key parent values of both images (as child and as parent).
 */
export function writeSetOf(changes: RowChange[], uniqueKeys: UniqueKeys, foreignKeys: ForeignKeys = NO_FOREIGN_KEYS, uniquePrefixes: UniquePrefixes = () => undefined): Set<string> {
  const set = new Set<string>();
  for (const c of changes) {
    const table = `${c.schema}.${c.table}`;
    set.add(`${table}|pk|${canonicalKey(folded(c.key))}`);
    if (c.oldKey) set.add(`${table}|pk|${canonicalKey(folded(c.oldKey))}`);
    addParentKeys(set, c, foreignKeys(table));
    const keys = uniqueKeys(table);
    if (keys.length === 0) continue;
    const prefixes = uniquePrefixes(table);
    for (const image of [c.before, c.after]) {
      if (!image) continue;
      keys.forEach((cols, i) => {
        const values: Row = {};
        for (const col of cols) values[col] = image[col] ?? null;
        // A unique key with a NULL part never collides.
        if (cols.every((col) => values[col] !== null)) set.add(`${table}|uk${i}|${canonicalKey(folded(prefixed(values, prefixes?.[i])))}`);
      });
    }
  }
  return set;
}

/** The referenced parent values of a change's images: as the child of `outgoing`, as the parent of `incoming`. */
function addParentKeys(set: Set<string>, c: RowChange, fks: { outgoing: ForeignKey[]; incoming: ForeignKey[] }): void {
  if (fks.outgoing.length === 0 && fks.incoming.length === 0) return;
  for (const image of [c.before, c.after]) {
    if (!image) continue;
    for (const fk of fks.outgoing) addRef(set, fk, fk.columns, image);
    for (const fk of fks.incoming) addRef(set, fk, fk.refColumns, image);
  }
}

/** `parent|ref|columns|values` for the image's values of `from` (the child's or the parent's columns); a NULL part references nothing. */
function addRef(set: Set<string>, fk: ForeignKey, from: string[], image: Row): void {
  const values: Row = {};
  for (let i = 0; i < from.length; i++) {
    const v = image[from[i] as string] ?? null;
    if (v === null) return;
    values[fk.refColumns[i] as string] = v;
  }
  set.add(`${fk.refSchema}.${fk.refTable}|ref|${fk.refColumns.join(',')}|${canonicalKey(folded(values))}`);
}

/** The key with its text values folded. */
function folded(key: Row): Row {
  const out: Row = {};
  for (const [c, v] of Object.entries(key)) out[c] = typeof v === 'string' ? foldKeyText(v) : v;
  return out;
}

/**
 * A prefix key's values cut to their prefix, as the index holds them (text: its first characters, then
 * folded like any key text); a binary value of a prefix key is left out (every such value then counts
 * as one: stricter, never looser).
 */
function prefixed(values: Row, prefixes: Readonly<Record<string, number>> | undefined): Row {
  if (!prefixes) return values;
  const out: Row = { ...values };
  for (const [c, n] of Object.entries(prefixes)) {
    const v = out[c];
    out[c] = typeof v === 'string' ? Array.from(v).slice(0, n).join('') : '*';
  }
  return out;
}

export function overlaps(a: Set<string>, b: Set<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const k of small) if (large.has(k)) return true;
  return false;
}
