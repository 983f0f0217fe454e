/**
 * Write sets and the dependency rule for parallel apply (DESIGN.md section 4): two transactions may
 * run side by side only when they touch no common primary key and no common unique-key value.
 *
 * "Common" follows the key columns' collations (issue 12): 'alice' and 'Alice' are one key under a
 * `_ci` collation, so their text values are folded (key-fold.ts) before they are compared — a fold
 * that merges more keys than any collation, so ordering is only ever stricter. Binary values (`$b`,
 * including text shipped as bytes) are compared exactly.
 */
import type { RowChange } from '../model/change.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { Row } from '../model/value.js';
import { foldKeyText } from './key-fold.js';

/** Unique keys (other than the primary key) of a table: lists of column names. */
export type UniqueKeys = (table: string) => string[][];

/** Every key a change touches: `schema.table` + primary key, plus each unique-key value of both images. */
export function writeSetOf(changes: RowChange[], uniqueKeys: UniqueKeys): Set<string> {
  const set = new Set<string>();
  for (const c of changes) {
    const table = `${c.schema}.${c.table}`;
    set.add(`${table}|pk|${canonicalKey(folded(c.key))}`);
    const keys = uniqueKeys(table);
    if (keys.length === 0) continue;
    for (const image of [c.before, c.after]) {
      if (!image) continue;
      keys.forEach((cols, i) => {
        const values: Row = {};
        for (const col of cols) values[col] = image[col] ?? null;
        // A unique key with a NULL part never collides.
        if (cols.every((col) => values[col] !== null)) set.add(`${table}|uk${i}|${canonicalKey(folded(values))}`);
      });
    }
  }
  return set;
}

/** The key with its text values folded. */
function folded(key: Row): Row {
  const out: Row = {};
  for (const [c, v] of Object.entries(key)) out[c] = typeof v === 'string' ? foldKeyText(v) : v;
  return out;
}

export function overlaps(a: Set<string>, b: Set<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const k of small) if (large.has(k)) return true;
  return false;
}
