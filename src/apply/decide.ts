/**
 * The per-change decision loop of a target transaction. Pure: given the batch, the rows and
 * tombstones as they are here, it returns the writes to run, the tombstones to record and the
 * conflicts met — the same answer in every ezone for the same shipped values.
 *
 * Per change, in order: the ownership check (DESIGN.md section 6), then last-writer-wins (resolver.ts,
 * section 5), then, for an insert/update of a table with unique keys, the claims of its unique values
 * (unique-claims.ts: the newest claimant of every value survives). Decisions chain: a change sees the row and the tombstone as the earlier changes of the
 * batch left them.
 */
import type { Tombstone } from '../db/tombstones.js';
import type { Ownership } from '../model/ownership.js';
import { canonicalKey } from '../model/types/canonical-key.js';
import type { ColumnTypes } from '../model/types/row.js';
import type { Row } from '../model/value.js';
import { compareVersions } from '../model/version.js';
import type { ConflictNote } from './conflict-log.js';
import { resolve } from './resolver.js';
import type { TableInfo } from './table-cache.js';
import type { IncomingChange, Op } from './types.js';
import { ClaimBook, type ClaimRecord, type UniqueInput } from './unique-claims.js';

/** The state key of a row: `schema.table|canonical primary key` (typed: two DOUBLE keys equal at float32 stay two). */
export const rowKey = (table: string, key: Row, types?: ColumnTypes): string => `${table}|${canonicalKey(key, types)}`;

export interface DecideInput {
  batch: IncomingChange[];
  /** Target tables of the batch, by `schema.table`. */
  infos: Map<string, TableInfo>;
  /** Every key of the batch, by identity: its local row, or null when missing. */
  rows: Map<string, Row | null>;
  /** Tombstones of keys missing here, by exact key (rowKey). */
  tombstones: Map<string, { version: string }>;
  /**
   * The identity of an incoming key (rowKey → rowKey, row-state.ts): keys the server holds equal under
   * their collation share one, so a change sees what an earlier change of the batch did to "its" row
   * whatever the case or trailing spaces of its key. Missing: the key is its own identity.
   */
  identities?: Map<string, string>;
  ownership: Pick<Ownership, 'violates' | 'policy'>;
  /** Unique values, their holders and recorded claims (unique-claims-state.ts); absent: no unique keys in the batch. */
  unique?: UniqueInput;
  versionColumnOf(schema: string, table: string): string | null;
}

export interface Decisions {
  ops: Op[];
  /** Tombstones of the deletes decided (rule 4). */
  tombstones: Tombstone[];
  conflicts: ConflictNote[];
  /** Unique-value claims to record (unique-claims.ts). */
  claims: ClaimRecord[];
}

export function decide(input: DecideInput): Decisions {
  const rows = new Map(input.rows);
  const tombstones = new Map(input.tombstones);
  const out: Decisions = { ops: [], tombstones: [], conflicts: [], claims: [] };
  const book = input.unique ? new ClaimBook(input.unique, rows, tombstones) : undefined;
  for (const [at, incoming] of input.batch.entries()) {
    const { change } = incoming;
    const table = `${change.schema}.${change.table}`;
    const info = input.infos.get(table) as TableInfo;
    const exact = rowKey(table, change.key, info.columnTypes);
    const k = input.identities?.get(exact) ?? exact;
    const local = rows.get(k) ?? null;
    const versionColumn = input.versionColumnOf(change.schema, change.table);

    const violation = input.ownership.violates(table, change.after ?? (change.before as Row), incoming.origin);
    if (violation) {
      const decision = input.ownership.policy === 'reject' ? 'skipped' : 'applied';
      out.conflicts.push({ incoming, reason: 'ownership', decision, local, versionColumn });
      if (decision === 'skipped') continue;
    }

    // Tombstones are keyed by the exact key, as they are stored (db/tombstones.ts): a key respelled
    // within the batch (an UPDATE of 'later-b' to 'Later-B' ships as delete + insert) is not held
    // back by the delete of its old spelling.
    const resolved = resolve({ change, local, tombstone: tombstones.get(exact) ?? null, versionColumn, types: info.columnTypes });
    // Unique keys: the image must also be the newest claimant of each of its unique values.
    const claimed = book !== undefined && versionColumn !== null && change.version !== undefined;
    const d = claimed && change.op !== 'delete' ? book.judge(at, incoming, k, local, resolved, info, versionColumn, out) : resolved;
    if (claimed && d.action === 'delete' && local) book.release(k, local, change.schema, change.table, info, versionColumn, incoming.origin, out);
    if (d.conflict) out.conflicts.push({ incoming, reason: d.conflict.reason, decision: d.conflict.decision, local, versionColumn });
    if (d.tombstone !== undefined) {
      out.tombstones.push({ schema: change.schema, table: change.table, key: change.key, version: d.tombstone, origin: incoming.origin });
      // A key keeps its newest tombstone (as recordTombstones does with GREATEST).
      const had = tombstones.get(exact);
      if (!had || compareVersions(d.tombstone, had.version) > 0) tombstones.set(exact, { version: d.tombstone });
    }
    rows.set(k, d.next);
    if (d.action === 'insert' || d.action === 'update') out.ops.push({ kind: d.action, info, incoming, key: change.key, image: change.after as Row });
    else if (d.action === 'delete') out.ops.push({ kind: 'delete', info, incoming, key: change.key, image: change.before as Row });
  }
  return out;
}
