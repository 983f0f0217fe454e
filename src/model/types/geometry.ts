/**
 * Spatial types: GEOMETRY, POINT, LINESTRING, POLYGON and their collections. A value travels as the
 * server's own bytes — 4-byte little-endian SRID, then WKB — as `{ $b }`, and is bound back as a
 * Buffer: a geometry column stores a binary string in that format as it is, so the peer holds the
 * identical bytes (same `HEX(g)`, same `ST_SRID(g)`).
 *
 * zongji parsed the value into {x, y} objects (lib/common.js:774-778), which lose the SRID and shipped
 * as JSON text the peer cannot insert (issue 12); capture/zongji-patches.ts makes it hand over the
 * bytes. mysql2 parses result fields the same way, so the family reads its fields itself (readField).
 */
import { agnostic } from './any-value.js';
import type { QueryField } from './column-meta.js';
import type { TypeFamily } from './family.js';

const geometryColumn = agnostic('geometry');

export const geometryFamily: TypeFamily = {
  name: 'geometry',
  column: () => geometryColumn,
  /** The field's bytes (SRID + WKB), not mysql2's parsed object. */
  readField: (field: QueryField) => field.buffer(),
};
