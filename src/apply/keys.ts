/**
 * How apply names a row and a table's tombstone keys: shared by the decisions (decide.ts), the state
 * they read (row-state.ts, unique-claims-state.ts) and the claim book (unique-claims.ts).
 */
import { keyIdentityOf, type KeyIdentity } from '../db/key-identity.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { ColumnTypes } from '../model/types/row.js';
import type { Row } from '../model/value.js';
import type { TableInfo } from './table-cache.js';

/** The state key of a row: `schema.table|canonical primary key` (typed: two DOUBLE keys equal at float32 stay two). */
export const rowKey = (table: string, key: Row, types?: ColumnTypes): string => `${table}|${canonicalKey(key, types)}`;

/** How a table's tombstones identify keys (db/key-identity.ts), from its target table info. */
export const tombstoneIdentity = (info: TableInfo | undefined): KeyIdentity => keyIdentityOf(info?.columnMeta, info?.columnTypes);
