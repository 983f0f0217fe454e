/**
 * The last-writer-wins order of two competing row images (DESIGN.md section 5 rule 2): by version,
 * then by a deterministic tie-break on the images. Used by apply (resolver, unique-key collisions)
 * and by verify's repair to pick the same winner the applier would.
 */
import { compareVersions } from '../version.js';
import { typeOf, type ColumnTypes } from './row.js';
import type { Row } from './wire.js';

/** The row's tie-break text: JSON of its `[column, orderText]` pairs, columns sorted. */
export function orderTextOf(row: Row, types?: ColumnTypes): string {
  const keys = Object.keys(row).sort();
  return JSON.stringify(keys.map((k) => [k, typeOf(types, k).orderText(row[k] ?? null)]));
}

/**
 * Tie-break between two images of equal version: > 0 when `a` wins, 0 only for the same values. It
 * must give the same answer in every ezone, and in every DRC version running in one mesh at once:
 * if two daemons of different versions ordered two images differently, each would keep its own row
 * and the ezones would diverge for good (with no conflict left to report). It must also tell every
 * two different images apart (0 for different values would mean "keep local", rule 2's divergence).
 * It compares the same text as canonicalKey (code unit order) given the same types; it is separate so
 * that identity can change (collation-aware keys, issue 12) without moving the order. Pass the table's
 * column types: a DOUBLE then orders by its exact text (issue 12; untyped it orders at float32
 * precision and two images differing only beyond it tie, the divergence rule 2 forbids).
 */
export function tiebreakOrder(a: Row, b: Row, types?: ColumnTypes): number {
  const x = orderTextOf(a, types);
  const y = orderTextOf(b, types);
  return x > y ? 1 : x < y ? -1 : 0;
}

/** Project `row` onto the columns of `image` (the target may have extra columns). */
function project(row: Row, image: Row): Row {
  const out: Row = {};
  for (const col of Object.keys(image)) out[col] = row[col] ?? null;
  return out;
}

/**
 * Total order of two competing images: > 0 when the incoming one wins. Versions first (null lowest),
 * then tiebreakOrder over the incoming image's columns.
 */
export function compareImages(
  incomingVersion: string | null | undefined,
  incoming: Row,
  localVersion: string | null | undefined,
  local: Row,
  types?: ColumnTypes,
): number {
  const byVersion = compareVersions(incomingVersion ?? null, localVersion ?? null);
  if (byVersion !== 0) return byVersion;
  return tiebreakOrder(incoming, project(local, incoming), types);
}
