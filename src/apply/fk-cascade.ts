/**
 * What a parent's delete does to its children, made the same in every ezone whatever the order of
 * arrival (issue 13).
 *
 * 1. **A child older than a delete of its parent is not placed, even where that delete lost.** b
 *    deletes P (version d), a writes P again later (u > d: P survives everywhere, the delete is
 *    skipped where u came first), and a child C written under P before the delete (c < d) travels
 *    from a third ezone. Where C arrived before d, d's cascade removed it (or, d skipped, its older
 *    children went with it: fk-conflict.ts orphanStatements); where d arrived first and P was missing,
 *    C met a deleted parent and went. So where C arrives after d was skipped, it must go too: a child
 *    insert or update whose parent has a delete tombstone newer than the child (from another origin
 *    than the child's: an origin's own later writes follow its delete) ends as the foreign key's ON
 *    DELETE action leaves it — not written (CASCADE, RESTRICT, NO ACTION; an update deletes the local
 *    row) or written with its references NULL (SET NULL), conflict `fk-parent-missing`. Only where
 *    both version columns are times (fk-parents.ts comparableVersions).
 *
 * 2. **Every row a cascade removes here leaves a tombstone, at every level.** InnoDB's cascades are
 *    not in the binlog, so a grandchild removed by the cascade of a cascade had none: a concurrent
 *    older write of one of its own children, arriving later, met a parent missing without a tombstone
 *    — "not arrived yet" — and retried until its stream paused. Before an applied delete runs, the
 *    rows its ON DELETE CASCADE keys will remove (children, their children, …) are read, locked, and
 *    get the delete's tombstone (its version and origin) — only in tables whose version column's type
 *    is comparable with the deleted table's (both times). Not in the delete's own origin: capture
 *    reads the binlog after the rows are gone (README, Foreign keys, known limits).
 *
 * 3. **A cascade victim's tombstone holds the row back only up to the row's own version.** As its
 *    children's parent, the victim was deleted at the delete's version (2.); as a row, what the cascade
 *    removed was its image at its own version r. A write of it newer than r but older than the delete
 *    that had moved it to another parent (written where the delete was not seen yet) is applied,
 *    under that parent — as in the delete's own ezone, which has no tombstone for its cascade, and in
 *    the write's origin, where the cascade did not reach it; one still under the deleted parent goes by
 *    1. (Traced in the randomized test, 3 ezones: child 2, moved from 13 to 1 in a, was held back in b
 *    by the cascade of c's delete of 13 and kept in a and c.) Recorded as the tombstone's row_version
 *    (db/tombstones.ts): every read of a row's own tombstones (findTombstonesStatement) counts from it,
 *    every read of a parent's delete (fk-parents.ts) from the delete's version.
 */
import type { PipelinedSession } from '../db/pipelined-session.js';
import { quoteId } from '../db/sql.js';
import type { ForeignKey } from '../db/table-keys.js';
import type { Tombstone } from '../db/tombstones.js';
import { selectList, typeOf } from '../model/types/row.js';
import { compareVersions, versionOf } from '../model/version.js';
import type { Row } from '../model/value.js';
import { childrenOf, unvisited } from './fk-children.js';
import { referencing } from './fk-conflict.js';
import { comparableVersions, dataTypeOf, olderThanDelete, parentDeletes, parentRef, parentVersionType, type FkContext, type ParentRef } from './fk-parents.js';
import { tombstoneIdentity } from './keys.js';
import type { Op } from './types.js';
import type { Logger } from '../ops/logger.js';

/** How many levels of cascades are followed (a cycle of CASCADE keys, a deep tree). */
const MAX_DEPTH = 16;

/**
 * The foreign keys through which each write's parent has a delete tombstone newer than the write (1.
 * above), by index of `ops`; writes without any are absent. One round trip for the whole batch.
 */
export async function olderThanParentDeletes(session: PipelinedSession, ctx: FkContext, ops: Op[]): Promise<Map<number, ForeignKey[]>> {
  const wanted: { index: number; fk: ForeignKey; ref: ParentRef }[] = [];
  for (const [index, op] of ops.entries()) {
    const { change } = op.incoming;
    if (op.kind === 'delete' || op.children || op.orphans || change.oldKey || !op.info.foreignKeys?.length || !change.version) continue;
    const childType = dataTypeOf(op.info, ctx.versionColumnOf(change.schema, change.table));
    for (const fk of referencing(op.info.foreignKeys, op.image)) {
      const ref = await parentRef(ctx.tables, fk, op.image);
      if (ref && comparableVersions(parentVersionType(ctx, ref), childType)) wanted.push({ index, fk, ref });
    }
  }
  const out = new Map<number, ForeignKey[]>();
  if (wanted.length === 0) return out;
  const deletes = await parentDeletes(session, wanted.map((w) => w.ref), ctx.local);
  wanted.forEach((w, i) => {
    const op = ops[w.index] as Op;
    const version = op.incoming.change.version as string;
    if (!(deletes[i] ?? []).some((d) => d.origin !== op.incoming.origin && olderThanDelete(version, d.version))) return;
    out.set(w.index, [...(out.get(w.index) ?? []), w.fk]);
  });
  return out;
}

/**
 * Beyond this many rows a cascade removes, the rest get no tombstone (and are not read): reading and
 * locking a huge cascade ahead of its delete would hold the stream for long (README, Foreign keys,
 * known limits). A warning names the table.
 */
export const MAX_CASCADE_VICTIMS = 100_000;

/** One level's parents through one foreign key: the rows to visit next. */
interface Level {
  fks: ForeignKey[];
  parents: Row[];
}

/**
 * The tombstones of the rows the delete `op` will remove through ON DELETE CASCADE keys, at every
 * level (2. above), read with a lock before it runs: the delete's version and origin. Level by level,
 * `WHERE fk IN (…)` in chunks, pipelined, in primary-key order (fk-children.ts); at most MAX_CASCADE_VICTIMS rows. Rows of tables without a
 * version column, or whose version column's type is not comparable with the deleted table's
 * (fk-parents.ts comparableVersions: a time's version would refuse a counter's re-insert for the
 * whole retention), get none.
 */
export async function cascadeTombstones(session: PipelinedSession, ctx: FkContext & { log?: Pick<Logger, 'warn'> }, op: Op, limit = MAX_CASCADE_VICTIMS): Promise<Tombstone[]> {
  const { change, origin } = op.incoming;
  // A delete shipped as one (not the old half of a key change, whose children may move rather than go).
  if (op.kind !== 'delete' || change.op !== 'delete' || !change.version) return [];
  const deletedType = dataTypeOf(op.info, ctx.versionColumnOf(change.schema, change.table));
  const out: Tombstone[] = [];
  const seen = new Set<string>();
  let victims = 0;
  let level: Level[] = [{ fks: op.info.referencedBy ?? [], parents: [op.image] }];
  for (let depth = 0; depth < MAX_DEPTH && level.length > 0; depth++) {
    const next: Level[] = [];
    for (const { fks, parents } of level) {
      for (const fk of fks) {
        if (fk.onDelete !== 'CASCADE') continue;
        const info = await ctx.tables.get(fk.schema, fk.table);
        if (!info || info.primaryKey.length === 0) continue;
        const below = (info.referencedBy ?? []).filter((g) => g.onDelete === 'CASCADE');
        const versionColumn = ctx.versionColumnOf(fk.schema, fk.table);
        const versioned = versionColumn !== null && comparableVersions(deletedType, dataTypeOf(info, versionColumn));
        if (!versioned && below.length === 0) continue;
        const cols = [...new Set([...info.primaryKey, ...below.flatMap((g) => g.refColumns), ...(versioned ? [versionColumn] : [])])];
        // One row beyond the limit: whether the cascade goes further than is tombstoned (primary-key order, as every traversal: fk-children.ts).
        const rows = await childrenOf(session, fk, info, parents, selectList(cols, info.columnTypes, quoteId), limit - victims + 1);
        const found: Row[] = [];
        for (const { key, image } of unvisited(fk, info, rows, seen)) {
          if (++victims > limit) {
            ctx.log?.warn({ table: `${change.schema}.${change.table}`, cascadeTable: `${fk.schema}.${fk.table}`, limit }, 'a delete cascades to more rows than are tombstoned: the rest get no tombstone (README, Foreign keys, known limits)');
            return out;
          }
          if (versioned) {
            // The row's own version, when older than the delete (3. above).
            const own = versionOf(image[versionColumn], typeOf(info.columnTypes, versionColumn));
            const older = own !== undefined && own !== null && compareVersions(own, change.version) < 0 ? { rowVersion: own } : {};
            out.push({ schema: fk.schema, table: fk.table, key, version: change.version as string, origin, identity: tombstoneIdentity(info), ...older });
          }
          found.push(image);
        }
        if (below.length > 0 && found.length > 0) next.push({ fks: below, parents: found });
      }
    }
    level = next;
  }
  return out;
}
