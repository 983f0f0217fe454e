/**
 * When each local transaction that deletes or truncates happened, as capture first timed it
 * (`drc_meta.capture_receipts`): the precise part of a delete's version (capture/row-changes.ts
 * deleteTime). Recorded before the delete's tombstone, so before anything in this ezone can decide
 * with that version and before the delete can be shipped; read back when capture starts, so a
 * transaction read again after a crash (it had not reached Kafka) gets the same versions as the first
 * time — the ones its local tombstones and every decision taken here already used. A row goes once
 * its transaction is on Kafka (never read again).
 */
import type mysql from 'mysql2/promise';
import { transactionCovered } from '../model/position.js';

/**
 * A transaction (its id: its GTID, or without one its binlog file and position — unique and the same
 * when read again, capture/binlog-source.ts) and the time its deletes count at.
 */
export interface CaptureReceipt {
  txId: string;
  /**
   * Epoch ms: deleteTime of its first delete or truncate as capture first read it (the receipt time,
   * or, read late, the lower bound deleteTime falls back on). Re-clamped into each event's second.
   */
  receivedAt: number;
}

/** Receipt times recorded by earlier captures of this ezone, by transaction id. */
export async function loadCaptureReceipts(db: mysql.Pool): Promise<Map<string, number>> {
  const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT tx_id, received_ms FROM drc_meta.capture_receipts');
  return new Map(rows.map((r) => [String(r.tx_id), Number(r.received_ms)]));
}

/**
 * Record receipt times. One already there is replaced: capture only records a time it did not find at
 * start, and what it records is what it ships.
 */
export async function recordCaptureReceipts(db: mysql.Pool | mysql.PoolConnection, receipts: CaptureReceipt[]): Promise<void> {
  if (receipts.length === 0) return;
  await db.query(
    `INSERT INTO drc_meta.capture_receipts (tx_id, received_ms, recorded_at) VALUES ${receipts.map(() => '(?, ?, UTC_TIMESTAMP(6))').join(', ')}
     ON DUPLICATE KEY UPDATE received_ms = VALUES(received_ms), recorded_at = VALUES(recorded_at)`,
    receipts.flatMap((r) => [r.txId, r.receivedAt]),
  );
}

/** Forget the receipts of transactions up to `committed` (on Kafka: capture never reads them again); returns how many went. */
export async function pruneCaptureReceipts(db: mysql.Pool, committed: string): Promise<number> {
  if (committed === '') return 0;
  const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT tx_id FROM drc_meta.capture_receipts');
  const done = rows.map((r) => String(r.tx_id)).filter((id) => transactionCovered(committed, id));
  for (let i = 0; i < done.length; i += 500) await db.query('DELETE FROM drc_meta.capture_receipts WHERE tx_id IN (?)', [done.slice(i, i + 500)]);
  return done.length;
}
