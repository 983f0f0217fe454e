/**
 * Executes one group of small source transactions as one target transaction, and commits it after
 * its predecessor (source order, see group-scheduler.ts), with the applied position in the same
 * transaction. Deadlocks and races are retried in place: the group has not committed, and its
 * successors wait for it.
 */
import type { DeferredStatement } from '../db/sql.js';
import { DrcError, RetryableApplyError, type ErrorContext } from '../errors.js';
import { classifyError } from '../pipeline/classify.js';
import type { TxChunk } from '../model/envelope.js';
import type { Logger } from '../ops/logger.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { ApplyPool } from './connection.js';
import { isDeadlock } from '../db/mysql-errors.js';
import type { Group } from './grouping.js';
import { TargetTransaction } from './target-transaction.js';
import type { IncomingChange, TargetContext } from './types.js';

/**
 * Worth running again where it stands: a deadlock InnoDB resolved, a row that appeared concurrently,
 * capture not there yet. Not a lock wait timeout: the holder may be a later group (of another
 * origin's stream) waiting for a commit turn that depends on this group — only abandoning this
 * stream's uncommitted groups (a recovery) breaks such a cycle.
 */
export function retryableInPlace(err: unknown): boolean {
  return isDeadlock(err) || err instanceof RetryableApplyError || (err instanceof DrcError && err.code === 'DRC_CAPTURE_BEHIND');
}
const IN_PLACE_ATTEMPTS = 5;
const IN_PLACE_DELAY_MS = 20;

/** The changes of source transactions, as the target transaction takes them. */
/** Where a group failed: its table(s) and the source position of its last transaction. */
function contextOf(group: Group): ErrorContext {
  const tables = [...new Set(group.txs.flatMap((t) => t.chunk.changes.map((c) => `${c.schema}.${c.table}`)))];
  return { table: tables.slice(0, 5).join(',') || undefined, position: group.txs.at(-1)?.chunk.pos };
}

export const incomingOf = (chunk: TxChunk): IncomingChange[] => chunk.changes.map((change) => ({ change, origin: chunk.origin, txId: chunk.id }));

export interface GroupExecutorDeps {
  pool: ApplyPool;
  context: TargetContext;
  checkpoint: CheckpointStore;
  origin: string;
  /** First marker slot of this stream. */
  slotBase: number;
  fence?: { statement(): DeferredStatement };
  log: Logger;
  /** A group committed (`target` undefined: nothing was written). */
  committed(group: Group, target: TargetTransaction | undefined): void;
  /** An in-place retry happened. */
  retried(): void;
}

export class GroupExecutor {
  constructor(private readonly deps: GroupExecutorDeps) {}

  /** Run `group` on worker `slot`, commit after `previous`; `isCurrent` false: a recovery abandoned it. */
  async run(group: Group, slot: number, previous: Promise<void>, isCurrent: () => boolean): Promise<void> {
    const last = group.txs[group.txs.length - 1];
    if (!last) {
      await previous; // position-only or skipped messages: nothing to write
      this.deps.committed(group, undefined);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.attempt(group, last.chunk, slot, previous, isCurrent);
        return;
      } catch (err) {
        // The supervisor logs and reports the failure with its table and position (never row values).
        if (!retryableInPlace(err) || attempt >= IN_PLACE_ATTEMPTS || !isCurrent()) throw classifyError(err, contextOf(group));
        this.deps.retried();
        this.deps.log.debug({ err: (err as Error).message, attempt }, 'group retried');
        await new Promise((r) => setTimeout(r, IN_PLACE_DELAY_MS * attempt));
      }
    }
  }

  private async attempt(group: Group, last: TxChunk, slot: number, previous: Promise<void>, isCurrent: () => boolean): Promise<void> {
    const { deps } = this;
    const conn = await deps.pool.getConnection();
    const target = new TargetTransaction(conn, deps.context);
    let open = false;
    try {
      target.open(deps.slotBase + slot, deps.origin, last.id, last.pos, deps.fence?.statement());
      open = true;
      // Once the predecessor has committed, nothing stands between this group's writes and its
      // commit: they then share one round trip.
      let previousDone = false;
      void previous.then(
        () => (previousDone = true),
        () => undefined,
      );
      await target.apply(group.txs.flatMap((t) => incomingOf(t.chunk)), { writeAtCommit: () => previousDone });
      target.writeConflicts();
      await previous;
      if (!isCurrent()) throw new DrcError('DRC_APPLY_STALE', 'group outlived a recovery');
      await target.commit(deps.checkpoint.statement(group.nextOffset, last.id, last.pos));
      open = false;
      deps.committed(group, target);
    } finally {
      if (open) await target.rollback().catch(() => undefined);
      conn.release();
    }
  }
}
