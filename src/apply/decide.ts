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
import { addMark, type Tombstone, type TombstoneMark } from '../db/tombstones.js';
import type { Ownership } from '../model/ownership.js';
import type { ForcedFlip } from '../model/routing.js';
import type { Row } from '../model/value.js';
import { compareVersions } from '../model/version.js';
import { childBound, dataTypeOf } from './fk-parents.js';
import type { ConflictNote } from './conflict-log.js';
import { decideKeyChange } from './fk-key-change.js';
import { resolve, type Decision } from './resolver.js';
import type { TableInfo } from './table-cache.js';
import { rowKey, tombstoneIdentity } from './keys.js';
import type { IncomingChange, Op } from './types.js';
import { ClaimBook, type ClaimRecord, type UniqueInput } from './unique-claims.js';

export { rowKey, tombstoneIdentity };

export interface DecideInput {
  batch: IncomingChange[];
  /** Target tables of the batch, by `schema.table`. */
  infos: Map<string, TableInfo>;
  /** Every key of the batch, by identity: its local row, or null when missing. */
  rows: Map<string, Row | null>;
  /** Tombstones of keys missing here, by exact key (rowKey): the newest per origin. */
  tombstones: Map<string, TombstoneMark[]>;
  /**
   * The identity of an incoming key (rowKey → rowKey, row-state.ts): keys the server holds equal under
   * their collation share one, so a change sees what an earlier change of the batch did to "its" row
   * whatever the case or trailing spaces of its key. Missing: the key is its own identity.
   */
  identities?: Map<string, string>;
  ownership: Pick<Ownership, 'violates' | 'policy'> & Partial<Pick<Ownership, 'lateAfterForce'>>;
  /**
   * The forced switchovers taking shards from the batch's origin, as read in the applying transaction
   * (target-transaction.ts): a late row is judged by them, not by the routing polled every 250 ms.
   * Absent: the ownership's own (its routing book's).
   */
  forced?: readonly ForcedFlip[];
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
  const rewritten = rewrittenDeletes(input);
  input.batch.forEach((incoming, at) => {
    const { change } = incoming;
    const table = `${change.schema}.${change.table}`;
    const info = input.infos.get(table) as TableInfo;
    const exact = rowKey(table, change.key, info.columnTypes);
    const k = input.identities?.get(exact) ?? exact;
    const local = rows.get(k) ?? null;
    const versionColumn = input.versionColumnOf(change.schema, change.table);

    // The origin's verdict when it shipped one (capture judged in binlog order, exactly); else the routing here.
    const image = change.after ?? (change.before as Row);
    const violation = change.rv !== undefined ? (change.wrong !== undefined ? { owner: change.wrong } : undefined) : input.ownership.violates(table, image, incoming.origin);
    if (violation) {
      const decision = input.ownership.policy === 'reject' ? 'skipped' : 'applied';
      out.conflicts.push({ incoming, reason: 'ownership', decision, local, versionColumn });
      if (decision === 'skipped') return;
    }
    // Its origin owned the row when it wrote it; a forced switchover has moved it since: flagged, and
    // decided by last-writer-wins as any concurrent write (no policy refuses what was the owner's); the
    // record's decision is that outcome, set below.
    const judged = !violation && change.rv !== undefined;
    const lateNow = judged && input.ownership.lateAfterForce?.(table, image, incoming.origin, change.rv as number, incoming.offset, input.forced) !== undefined;
    const late: ConflictNote | undefined = lateNow ? { incoming, reason: 'forced-late', decision: 'applied', local, versionColumn } : undefined;
    if (late) out.conflicts.push(late);

    const exactOld = change.oldKey ? rowKey(table, change.oldKey, info.columnTypes) : undefined;
    const kOld = exactOld === undefined ? undefined : (input.identities?.get(exactOld) ?? exactOld);
    // A primary-key change: both keys' rows, one UPDATE when both halves apply (fk-key-change.ts). A
    // key only respelled under its collation ('later-b' → 'Later-B': one row here) is an update in place.
    if (change.oldKey && exactOld !== undefined && kOld !== undefined && kOld !== k) {
      const atOld = rows.get(kOld) ?? null;
      // Unique keys: the moved image is a claimant like an insert of the new key (unique-claims.ts).
      const claims =
        book !== undefined && versionColumn !== null && change.version !== undefined
          ? {
              releaseOld: () => atOld && book.release(kOld, atOld, change.schema, change.table, info, versionColumn, incoming.origin, out),
              judgeNew: (written: Decision) => book.judge(at, incoming, k, local, written, info, versionColumn, out),
            }
          : undefined;
      const d = decideKeyChange({ change, origin: incoming.origin, atOld, atNew: local, tombstonesOfNew: tombstones.get(exact) ?? [], versionColumn, types: info.columnTypes, ...(claims ? { claims } : {}) });
      for (const c of d.conflicts) out.conflicts.push({ incoming, reason: c.reason, decision: c.decision, local: c.local, versionColumn });
      if (late) late.decision = d.writes.some((w) => w.image === change.after) ? 'applied' : 'skipped';
      if (d.tombstone !== undefined) {
        out.tombstones.push({ schema: change.schema, table: change.table, key: change.oldKey, version: d.tombstone, origin: incoming.origin, identity: tombstoneIdentity(info), movedTo: change.key });
        addMark(tombstones, exactOld, { version: d.tombstone, origin: incoming.origin });
      }
      if (d.tombstoneOfNew !== undefined) {
        out.tombstones.push({ schema: change.schema, table: change.table, key: change.key, version: d.tombstoneOfNew, origin: incoming.origin, identity: tombstoneIdentity(info) });
        addMark(tombstones, exact, { version: d.tombstoneOfNew, origin: incoming.origin });
      }
      rows.set(kOld, d.nextOld);
      rows.set(k, d.nextNew);
      book?.keyChanged(at, kOld, k, d.nextOld === null, d.writes.some((w) => w.kind !== 'delete' && w.image === change.after));
      // The write of the new half: children an older concurrent key change took along follow it (fk-adopt.ts).
      const adopt = versionColumn !== null && (info.referencedBy ?? []).length > 0 ? { adopt: { versionColumn } } : {};
      for (const w of d.writes) out.ops.push({ kind: w.kind, info, incoming, key: w.key, image: w.image, ...(w.kind !== 'delete' && w.image === change.after ? adopt : {}), ...(w.moveChildren ? { children: { from: change.before as Row, to: change.after as Row } } : {}), ...(w.removal ? { removal: { to: change.after as Row } } : {}) });
      return;
    }

    // Within the batch, tombstones are keyed by the exact key (stored ones were found by the server's
    // identity, row-state.ts): a key respelled within the batch (an UPDATE of 'later-b' to 'Later-B' ships as delete + insert) is not held
    // back by the delete of its old spelling.
    // A tombstone of the change's own origin never holds it back (resolver.ts): its delete does not
    // block its own later insert of the key. A delete it follows with a write of the key meets an
    // existing row at that write's version (rewrittenDeletes).
    const effective = local !== null ? rewritten.get(at) : undefined;
    const decided = resolve({ change: effective ? { ...change, version: effective } : change, local, tombstones: tombstones.get(exact) ?? [], origin: incoming.origin, versionColumn, types: info.columnTypes });
    const resolved = effective && decided.tombstone !== undefined ? { ...decided, tombstone: change.version as string } : decided;
    // Unique keys: the image must also be the newest claimant of each of its unique values.
    const claimed = book !== undefined && versionColumn !== null && change.version !== undefined;
    const d = claimed && change.op !== 'delete' ? book.judge(at, incoming, k, local, resolved, info, versionColumn, out) : resolved;
    if (claimed && d.action === 'delete' && local) book.release(k, local, change.schema, change.table, info, versionColumn, incoming.origin, out, incoming.unclaimed ? () => true : undefined);
    if (d.conflict) out.conflicts.push({ incoming, reason: d.conflict.reason, decision: d.conflict.decision, local, versionColumn });
    if (late) late.decision = d.conflict?.decision ?? (d.action === 'none' ? 'skipped' : 'applied');
    if (d.tombstone !== undefined) {
      out.tombstones.push({ schema: change.schema, table: change.table, key: change.key, version: d.tombstone, origin: incoming.origin, identity: tombstoneIdentity(info) });
      addMark(tombstones, exact, { version: d.tombstone, origin: incoming.origin });
    }
    rows.set(k, d.next);
    // An update re-creating its row here (update-missing): children a concurrent key change of it took along come back (fk-adopt.ts).
    const adopt = d.action === 'insert' && change.op === 'update' && change.before && versionColumn !== null && (info.referencedBy ?? []).length > 0 ? { adopt: { versionColumn } } : {};
    if (d.action === 'insert' || d.action === 'update') out.ops.push({ kind: d.action, info, incoming, key: change.key, image: change.after as Row, ...adopt });
    else if (d.action === 'delete') out.ops.push({ kind: 'delete', info, incoming, key: change.key, image: change.before as Row });
    else if (change.op === 'delete' && d.conflict?.reason === 'delete-diverged' && local !== null && d.next !== null) {
      // The delete lost to a newer row here; its cascade removed the children in its origin: the older ones go here too (fk-conflict.ts orphanStatements).
      // Bounded by the delete's version only when it is a time, as the children's stamped column is (fk-parents.ts); else every child goes, as the cascade took them.
      const value = versionColumn !== null && change.version ? (childBound(change.version, dataTypeOf(info, versionColumn), 'datetime') ?? null) : undefined;
      if (value !== undefined && (info.referencedBy ?? []).length > 0) out.ops.push({ kind: 'update', info, incoming, key: change.key, image: local, orphans: { before: { column: versionColumn as string, value } } });
      // The newer row here may stand at a key an older concurrent key change freed, moving the delete's row away with its children: they go too (fk-adopt.ts abandonMovedChildren).
      if (versionColumn !== null && change.before && (info.referencedBy ?? []).length > 0) out.ops.push({ kind: 'delete', info, incoming, key: change.key, image: change.before, movedAway: { versionColumn, wait: true } });
    } else if (change.op === 'update' && !change.oldKey && d.conflict?.reason === 'update-diverged' && d.conflict.decision === 'skipped' && local !== null && change.before && change.after && versionColumn !== null && (info.referencedBy ?? []).length > 0) {
      // Lost to a newer row here, but it may be newer than a concurrent key change that moved the row's children away: they follow it to its key (fk-adopt.ts).
      out.ops.push({ kind: 'update', info, incoming, key: change.key, image: change.after, adopt: { versionColumn }, adoptOnly: true });
    } else if (change.op === 'delete' && d.conflict?.reason === 'delete-missing' && local === null && versionColumn !== null && change.before && (info.referencedBy ?? []).length > 0) {
      // Not here: an older concurrent key change may have moved the row away with its children, which the delete's cascade removed in its origin (fk-adopt.ts abandonMovedChildren).
      out.ops.push({ kind: 'delete', info, incoming, key: change.key, image: change.before, movedAway: { versionColumn } });
    }
    if (change.op === 'delete' && d.conflict?.reason === 'delete-missing' && local === null && versionColumn !== null && change.before && change.version && (info.foreignKeys ?? []).length > 0) {
      // Not here: maybe waiting for its parent (fk-waiting.ts), or placed from there by a sweep in flight.
      out.ops.push({ kind: 'delete', info, incoming, key: change.key, image: change.before, waitingGone: { versionColumn } });
    }
  });
  return out;
}

/**
 * Deletes that their origin follows, within the batch, with a write of the same key (delete + insert
 * in one transaction, a key respelled or shifted, a quick re-insert): by index, the version the delete
 * is decided with — the later write's, when that is lower. A delete's version is capture's receipt
 * time (capture/assembler.ts deleteTime), which can exceed the statement times of writes that follow
 * it within capture's lag; decided with it, the delete could beat a concurrent remote row that the
 * re-written row itself loses to in the origin, and the ezones would part (the origin keeps the remote
 * row, the peer the re-written one). Decided as the pair it is — one write at the later write's
 * version — it wins or loses alike everywhere. Its tombstone keeps the shipped version. (A re-insert
 * that arrives in a later batch than its delete is not paired: README.)
 */
function rewrittenDeletes(input: DecideInput): Map<number, string> {
  const out = new Map<number, string>();
  /** The last delete of each key by its origin not yet followed by a write: `origin|rowKey` → index. */
  const pending = new Map<string, { index: number; version: string }>();
  input.batch.forEach(({ change, origin }, i) => {
    const table = `${change.schema}.${change.table}`;
    const k = `${origin}|${rowKey(table, change.key, input.infos.get(table)?.columnTypes)}`;
    if (change.op === 'delete') {
      if (change.version === undefined || change.version === null) pending.delete(k);
      else pending.set(k, { index: i, version: change.version });
      return;
    }
    const del = pending.get(k);
    if (!del) return;
    pending.delete(k);
    if (change.version !== undefined && change.version !== null && compareVersions(change.version, del.version) < 0) out.set(del.index, change.version);
  });
  return out;
}
