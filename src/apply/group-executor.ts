/**
 * Executes one group of small source transactions as one target transaction, and commits it after
 * its predecessor (source order, see group-scheduler.ts), with the applied position in the same
 * transaction. Deadlocks and races are retried in place: the group has not committed, and its
 * successors wait for it.
 *
 * Under `apply.onError: quarantine`, a group failing for a deterministic reason (quarantine.ts) is
 * re-run one source transaction at a time, in order, still before its successors commit: the
 * innocent ones are applied, and a transaction that fails again *alone* — proven to be the culprit —
 * is quarantined (the applied position moves past it in the same database transaction).
 */
import type { DeferredStatement } from '../db/sql.js';
import { ApplyStaleError, DrcError, RetryableApplyError, withContext, type ErrorContext } from '../errors.js';
import { classifyError } from '../pipeline/classify.js';
import type { TxChunk } from '../model/envelope.js';
import type { Logger } from '../ops/logger.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { ApplyPool } from './connection.js';
import { isDeadlock } from '../db/mysql-errors.js';
import type { Group } from './grouping.js';
import { LocksYielded, type LockYield } from './lock-yield.js';
import { quarantinable, type Quarantine } from './quarantine.js';
import { TargetTransaction } from './target-transaction.js';
import { ForcedFlipRaced } from './forced-flips.js';
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

/**
 * Where a group failed, for the one error line of a paused stream: the table (or tables, up to a few)
 * it writes, and for a single transaction its id and position. Identifiers only, never row values.
 */
export function failureContext(group: Group): ErrorContext {
  const tables = [...new Set(group.txs.flatMap((t) => t.chunk.changes.map((c) => `${c.schema}.${c.table}`)))];
  const only = group.txs.length === 1 ? group.txs[0]!.chunk : undefined;
  return {
    ...(tables.length === 1 ? { table: tables[0] } : { tables: tables.slice(0, 5).join(',') + (tables.length > 5 ? ',…' : '') }),
    ...(only ? { txId: only.id, position: only.pos } : { transactions: group.txs.length }),
  };
}

/** The changes of source transactions, as the target transaction takes them. */
export const incomingOf = (chunk: TxChunk, offset?: string): IncomingChange[] => chunk.changes.map((change) => ({ change, origin: chunk.origin, txId: chunk.id, ...(offset === undefined ? {} : { offset }) }));

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
  /** Shared by every stream of this ezone: a slow round trip makes parked groups give their locks back (lock-yield.ts). */
  yields: LockYield;
  /** A parked group gave its locks back (it runs again; not a retry). */
  yielded(): void;
  /** Set aside transactions the target rejects (apply.onError: quarantine); absent: the stream pauses. */
  quarantine?: Quarantine;
  /** A transaction was quarantined. */
  quarantined?(): void;
}

const next = (offset: string) => (BigInt(offset) + 1n).toString();

export class GroupExecutor {
  constructor(private readonly deps: GroupExecutorDeps) {}

  /** Run `group` on worker `slot`, commit after `previous`; `isCurrent` false: a recovery abandoned it. */
  async run(group: Group, slot: number, previous: Promise<void>, isCurrent: () => boolean): Promise<void> {
    if (group.txs.length === 0) {
      await previous; // position-only or skipped messages: nothing to write
      this.deps.committed(group, undefined);
      return;
    }
    try {
      await this.runWithRetries(group, slot, previous, isCurrent);
    } catch (err) {
      if (!this.deps.quarantine || !quarantinable(err) || !isCurrent()) throw err;
      await previous; // in commit order: a predecessor that failed fails this group too
      await this.isolate(group, slot, isCurrent);
    }
  }

  private async runWithRetries(group: Group, slot: number, previous: Promise<void>, isCurrent: () => boolean): Promise<void> {
    const last = group.txs[group.txs.length - 1]!;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.attempt(group, last.chunk, slot, previous, isCurrent);
        return;
      } catch (err) {
        if (err instanceof LocksYielded) {
          // Rolled back while parked: run again once the predecessor committed (then never parked again).
          attempt--;
          this.deps.yielded();
          this.deps.log.debug({ transactions: group.txs.length }, 'parked group yielded its locks');
          await previous.catch(() => undefined);
          continue;
        }
        if (!retryableInPlace(err) || attempt >= IN_PLACE_ATTEMPTS || !isCurrent()) throw withContext(classifyError(err), failureContext(group));
        this.deps.retried();
        if (err instanceof ForcedFlipRaced) this.deps.log.info({ err: err.message, attempt }, 'group applied again: a forced switchover committed while it was applied');
        else this.deps.log.debug({ err: (err as Error).message, attempt }, 'group retried');
        await new Promise((r) => setTimeout(r, IN_PLACE_DELAY_MS * attempt));
      }
    }
  }

  /**
   * The group failed deterministically: apply its transactions one by one, in order, each with its
   * own applied position; one that fails alone for a quarantinable reason is quarantined.
   */
  private async isolate(group: Group, slot: number, isCurrent: () => boolean): Promise<void> {
    const quarantine = this.deps.quarantine!;
    if (group.txs.length > 1) this.deps.log.info({ transactions: group.txs.length, offset: group.txs[0]!.offset }, 'group failed: applying its transactions one by one to find the culprit');
    for (const [i, tx] of group.txs.entries()) {
      const nextOffset = i === group.txs.length - 1 ? group.nextOffset : next(tx.offset);
      const single: Group = { txs: [tx], nextOffset, rows: tx.chunk.changes.length };
      try {
        await this.runWithRetries(single, slot, Promise.resolve(), isCurrent);
      } catch (err) {
        const reason = quarantinable(err);
        if (!reason || !isCurrent()) throw err;
        await quarantine.put(tx, nextOffset, reason);
        this.deps.quarantined?.();
        this.deps.committed({ txs: [], nextOffset, rows: 0 }, undefined);
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
      const { yields } = deps;
      await yields.watch(target.apply(group.txs.flatMap((t) => incomingOf(t.chunk, t.offset)), { writeAtCommit: () => previousDone }), () => previousDone);
      target.writeConflicts();
      if (!previousDone) {
        // Parked: holding row locks until the predecessor commits. An oldest group's slow round trip in
        // this ezone may be waiting on them through a local transaction (lock-yield.ts): then give them back.
        if ((await yields.park(previous)) === 'yield' && !previousDone) throw new LocksYielded();
      }
      // A predecessor's failure is not this group's: it must never look like a reason to quarantine.
      await previous.catch(() => {
        throw new ApplyStaleError('the group before this one failed');
      });
      if (!isCurrent()) throw new ApplyStaleError('group outlived a recovery');
      await yields.watch(target.commit(deps.checkpoint.statement(group.nextOffset, last.id, last.pos)));
      open = false;
      deps.committed(group, target);
    } finally {
      if (open) await target.rollback().catch(() => undefined);
      conn.release();
    }
  }
}
