/**
 * The forced switchovers one target transaction is judged by (issue 17). A forced flip's cut is the
 * old owner's applied position it reads with a lock (admin/switchover-forced.ts); a change the old
 * owner wrote under an older routing version at or after the cut is `forced-late` (model/routing.ts
 * lateFor). Every batch judged by the versioned routing reads the flips with its row reads; the whole
 * transaction must be judged by the same flips, the ones in force when it commits:
 *
 * - The first judged batch's read fixes them (`known`, per origin). A later batch that reads a flip not among
 *   them, or the commit that finds one, means a flip committed while this transaction ran (it waited
 *   for row locks, for its predecessor, between the chunks of a big one): the earlier batches were
 *   judged without it. The transaction rolls back and is applied again (ForcedFlipRaced, retryable);
 *   the new attempt reads the flip with its first batch. Rare: one forced switchover, one retry.
 * - The commit's round trip checks after the applied position's upsert and before COMMIT, with a
 *   statement that fails when a flip not in `known` exists (newForcedFlipStatement), so the COMMIT
 *   does not run. That upsert and the flip's locked read of the same row are serialised: either the
 *   flip's cut includes this transaction (nothing is late that was not flagged), or the upsert waited
 *   for the flip's commit and the check (READ COMMITTED) sees it.
 *
 * Memory: a few ids per transaction, whatever its size (a 400k-row transaction keeps nothing per row).
 */
import type mysql from 'mysql2/promise';
import { forcedFlipsOf, forcedFlipsStatement, newForcedFlipStatement } from '../db/routing-store.js';
import type { DeferredStatement, Statement } from '../db/sql.js';
import { RetryableApplyError } from '../errors.js';
import type { ForcedFlip } from '../model/routing.js';
import type { IncomingChange } from './types.js';

/** A forced switchover committed while a target transaction ran: it is rolled back and applied again. */
export class ForcedFlipRaced extends RetryableApplyError {
  constructor(switchover: string) {
    super(`the forced switchover ${switchover} committed while this transaction was applied: it is applied again, judged by it`);
  }
}

export class ForcedFlipWatch {
  /** Per origin, the ids of the flips taking its shards that the first judged batch of its changes read. */
  private readonly known = new Map<string, Set<string>>();
  /** A flip a later batch read that its origin's first read did not: the transaction must be applied again. */
  private fresh: string | undefined;

  constructor(private readonly topology: string | undefined) {}

  /**
   * The read to send with a batch's row reads (the flips taking shards from the origins of its judged
   * changes), and where its flips land: undefined when the batch holds no change judged by the versioned
   * routing (RowChange.rv) or nothing is routed.
   */
  batchRead(batch: readonly IncomingChange[]): { statement: DeferredStatement; read: { flips?: ForcedFlip[] } } | undefined {
    const origins = [...new Set(batch.filter((i) => i.change.rv !== undefined && i.offset !== undefined).map((i) => i.origin))];
    if (this.topology === undefined || origins.length === 0) return undefined;
    const read: { flips?: ForcedFlip[] } = {};
    const check = (rows: unknown) => {
      read.flips = forcedFlipsOf(rows as mysql.RowDataPacket[]);
      this.judge(origins, read.flips);
    };
    return { statement: { ...forcedFlipsStatement(this.topology, origins), check }, read };
  }

  /** A batch's flips: an origin's first fix its `known`; a new one later is a race (`fresh`, thrown by the caller). */
  private judge(origins: readonly string[], flips: readonly ForcedFlip[]): void {
    for (const origin of origins) {
      const ids = flips.filter((f) => f.fromEzone === origin).map((f) => f.switchover);
      const known = this.known.get(origin);
      if (!known) this.known.set(origin, new Set(ids));
      else this.fresh ??= ids.find((id) => !known.has(id));
    }
  }

  /** Throw ForcedFlipRaced when a batch read a flip its origin's first read did not (call after the batch's reads). */
  assertSame(): void {
    if (this.fresh !== undefined) throw new ForcedFlipRaced(this.fresh);
  }

  /** The check for the commit's round trip, after the applied position's upsert; undefined: nothing judged. */
  commitCheck(): Statement | undefined {
    if (this.topology === undefined || this.known.size === 0) return undefined;
    return newForcedFlipStatement(this.topology, new Map([...this.known].map(([origin, ids]) => [origin, [...ids]])));
  }

  /** The read that tells whether a failed commit round trip was the check's failure (in the still open transaction). */
  explainRead(): { sql: string; params: string[] } | undefined {
    return this.topology === undefined || this.known.size === 0 ? undefined : forcedFlipsStatement(this.topology, [...this.known.keys()]);
  }

  /** ForcedFlipRaced when `flips` (explainRead's) hold one not known for its origin (the check failed), else undefined. */
  raced(flips: readonly ForcedFlip[]): ForcedFlipRaced | undefined {
    const fresh = flips.find((f) => this.known.get(f.fromEzone)?.has(f.switchover) === false);
    return fresh ? new ForcedFlipRaced(fresh.switchover) : undefined;
  }

  reset(): void {
    this.known.clear();
    this.fresh = undefined;
  }
}
