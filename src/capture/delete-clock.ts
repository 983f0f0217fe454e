/**
 * When the deletes (and truncates) of local transactions happened, to the millisecond: the precise
 * part of their versions (DESIGN.md section 5 rule 1; the rule itself is row-changes.ts deleteTime).
 * Every delete of one transaction counts at one time, its *receipt time*: taken when capture first
 * receives its first delete or truncate (the binlog writes a transaction at commit: its events arrive
 * together) — or, read again after a crash, the time an earlier capture recorded for it
 * (db/capture-receipts.ts), which the local tombstones and every decision taken here already used.
 * A time this capture chose is handed out once, to record before the tombstones.
 */
import type { CaptureReceipt } from '../db/capture-receipts.js';
import { deleteTime } from './row-changes.js';

/** The delete times of one transaction. */
export interface TransactionDeletes {
  /**
   * The time of a delete or truncate of the transaction (binlog `timestamp`, capture's `receivedAt`).
   * `record`: false for a transaction DRC applied (it is not shipped: no receipt time is kept).
   */
  at(timestamp: number, receivedAt: number | undefined, record: boolean): number;
  /** The receipt time this capture chose since the last call, to record; then undefined. */
  takeReceipt(): CaptureReceipt | undefined;
}

export class DeleteClock {
  /**
   * The newest version time (ms) of a local write read so far (temporal version columns): a lower
   * bound of the time of any later delete, for a delete read too late to time it (deleteTime).
   */
  private latestWriteMs: number | undefined;

  /** `recorded`: receipt times earlier captures recorded, by transaction id. */
  constructor(private readonly recorded: ReadonlyMap<string, number> = new Map()) {}

  /** A local write's version was read (epoch microseconds, a temporal column): the lower bound moves. */
  noteWrite(version: string): void {
    const ms = Number(BigInt(version) / 1000n);
    if (Number.isFinite(ms) && (this.latestWriteMs === undefined || ms > this.latestWriteMs)) this.latestWriteMs = ms;
  }

  /** The delete times of the transaction `txId`, just opened. */
  transaction(txId: string): TransactionDeletes {
    let receivedAt: number | undefined;
    let unrecorded: CaptureReceipt | undefined;
    return {
      at: (timestamp, arrivedAt, record) => {
        if (receivedAt === undefined && record) {
          const recorded = this.recorded.get(txId);
          if (recorded !== undefined) receivedAt = recorded;
          else if (arrivedAt !== undefined) {
            receivedAt = deleteTime(timestamp, arrivedAt, this.latestWriteMs);
            unrecorded = { txId, receivedAt };
          }
        }
        return deleteTime(timestamp, receivedAt ?? arrivedAt, this.latestWriteMs);
      },
      takeReceipt: () => {
        const r = unrecorded;
        unrecorded = undefined;
        return r;
      },
    };
  }
}
