/**
 * A source transaction too big for one message arrives in chunks (DESIGN.md section 4): it streams
 * into one target transaction of its own, chunk by chunk (state is re-read per chunk, so memory stays
 * bounded), and commits with its last chunk. Everything before it has committed first; nothing else
 * of the stream runs meanwhile.
 */
import type { DeferredStatement } from '../db/sql.js';
import { ApplyStaleError, DrcError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { ApplyConnection, ApplyPool } from './connection.js';
import { incomingOf } from './group-executor.js';
import type { Group } from './grouping.js';
import type { Unit } from './reassembler.js';
import { TargetTransaction } from './target-transaction.js';
import type { TargetContext } from './types.js';

export interface BigTransactionDeps {
  pool: ApplyPool;
  context: TargetContext;
  checkpoint: CheckpointStore;
  origin: string;
  /** The marker slot of big transactions (after the workers' slots). */
  slot: number;
  fence?: { statement(): DeferredStatement };
  log: Logger;
  /** Resolves once everything dispatched before has committed. */
  lastCommit(): Promise<void>;
  committed(group: Group, target: TargetTransaction): void;
}

const next = (offset: string) => (BigInt(offset) + 1n).toString();

export class BigTransaction {
  private open: { conn: ApplyConnection; target: TargetTransaction } | undefined;
  /** The take() under way: close() waits for it, so a rollback never lands between its statements. */
  private running: Promise<void> | undefined;

  constructor(private readonly deps: BigTransactionDeps) {}

  /** A big transaction is open (it counts as in flight). */
  get active(): boolean {
    return this.open !== undefined;
  }

  /**
   * Apply one chunk (committing with the last), or drop the open transaction (`abandon`). `isCurrent`
   * false (a recovery abandoned this stream's work) stops it before it commits.
   */
  take(u: Extract<Unit, { kind: 'part' | 'abandon' }>, isCurrent: () => boolean = () => true): Promise<void> {
    const running = this.takeOne(u, isCurrent);
    this.running = running.catch(() => undefined);
    return running;
  }

  private async takeOne(u: Extract<Unit, { kind: 'part' | 'abandon' }>, isCurrent: () => boolean): Promise<void> {
    const { deps } = this;
    await deps.lastCommit(); // everything before it is committed first
    if (u.kind === 'abandon') {
      deps.log.warn({ offset: u.offset }, 'an incomplete multi-chunk transaction was dropped (it will not complete on this stream)');
      await this.rollback();
      return;
    }
    const { chunk } = u;
    if (chunk.seq === 0) {
      await this.rollback();
      const conn = await deps.pool.getConnection();
      this.open = { conn, target: new TargetTransaction(conn, deps.context) };
      this.open.target.open(deps.slot, deps.origin, chunk.id, chunk.pos, deps.fence?.statement());
    }
    const big = this.open;
    if (!big) throw new DrcError('DRC_APPLY_SEQUENCE', `chunk ${chunk.seq} of ${chunk.id} without its start`);
    await big.target.apply(incomingOf(chunk, u.offset));
    if (!chunk.last) return big.target.flushConflicts(); // memory bounded however many rows conflict
    big.target.writeConflicts();
    const nextOffset = next(u.offset);
    if (!isCurrent() || this.open !== big) throw new ApplyStaleError('a multi-chunk transaction outlived a recovery');
    await big.target.commit(deps.checkpoint.statement(nextOffset, chunk.id, chunk.pos));
    this.open = undefined;
    big.conn.release();
    deps.committed({ txs: [{ chunk, offset: u.offset }], nextOffset, rows: big.target.rows }, big.target);
  }

  /** Roll the open transaction back, if any, once the take() under way (if any) has ended. */
  async close(): Promise<void> {
    await this.running;
    await this.rollback();
  }

  private async rollback(): Promise<void> {
    const big = this.open;
    this.open = undefined;
    if (!big) return;
    await big.conn.query('ROLLBACK').catch(() => undefined);
    big.conn.release();
  }
}
