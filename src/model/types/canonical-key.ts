/**
 * Identity of a row or key: one text, the same in every ezone and every DRC version for the same
 * values. Used where "is this the same key?" is asked and where the answer is stored or shared:
 *
 * - persisted tombstone keys (`drc_meta.tombstones` / `applied_tombstones`: `key_json` and the
 *   SHA-256 `key_hash` of this text) — a different text for the same key makes every stored
 *   tombstone invisible after an upgrade, and older updates resurrect deleted rows;
 * - Kafka message keys of notifications — a different text moves a key to another partition, and
 *   its notifications lose their order across the upgrade;
 * - write sets of parallel apply — a different text only within one process, but two texts for one
 *   key would let conflicting transactions run side by side.
 *
 * So its output must stay byte-identical across versions (canonical-key.test.ts pins it). It is not an
 * order: the LWW tie-break is tiebreakOrder (order.ts), free to differ (issue 12: a key follows the
 * column's collation, the tie-break must not).
 */
import { typeOf, type ColumnTypes } from './row.js';
import type { Row } from './wire.js';

/** The row's identity text: JSON of its `[column, keyText]` pairs, columns sorted. */
export function canonicalKey(row: Row, types?: ColumnTypes): string {
  const keys = Object.keys(row).sort();
  return JSON.stringify(keys.map((k) => [k, typeOf(types, k).keyText(row[k] ?? null)]));
}

/**
 * The inverse of canonicalKey (a tombstone's key_json: `[[column, text], …]`) as a key row: a part's text as the
 * value, `["b", base64]` as binary; undefined when a part is anything else (the caller then leaves the
 * key to the final comparison). The row it finds is confirmed by its tombstone lookup. Pure.
 */
export function keyFromJson(json: string, pk: string[]): Row | undefined {
  try {
    const pairs = JSON.parse(json) as unknown;
    if (!Array.isArray(pairs)) return undefined;
    const key: Row = {};
    for (const pair of pairs as unknown[]) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'string') return undefined;
      const part = pair[1] as unknown;
      if (typeof part === 'string' || typeof part === 'number') key[pair[0]] = String(part);
      else if (Array.isArray(part) && part[0] === 'b' && typeof part[1] === 'string') key[pair[0]] = { $b: part[1] };
      else return undefined;
    }
    return pk.every((c) => c in key) ? key : undefined;
  } catch {
    return undefined;
  }
}
