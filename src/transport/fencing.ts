/**
 * Kafka's fencing answers, the same for every client adapter, and what they mean for an open transaction.
 *
 * A broker answers PRODUCER_FENCED (coordinator requests, KIP-588) or INVALID_PRODUCER_EPOCH (produce
 * requests, and coordinator requests of older protocol versions, which kafkajs speaks) when the
 * producer's epoch is no longer the transactional id's current one. Two things bump it:
 * - another producer with the same transactional id ran InitProducerId (a successor took over: this one
 *   is a zombie and must stop);
 * - the transaction coordinator aborted our transaction because it stayed open past its timeout (it bumps
 *   the epoch when it aborts a timed-out transaction). Before transactions v2 (KIP-890, which needs
 *   EndTxn v5+: neither adapter speaks it) the broker has no other answer for this: no TRANSACTION_TIMED_OUT
 *   code exists, and TRANSACTION_ABORTABLE only comes with v2.
 * The adapter tells them apart by the transaction's age: an answer to a transaction open longer than the
 * timeout is the broker's abort (TransactionTimedOutError, retryable: capture re-claims the producer and
 * resumes from the last committed position). A frozen zombie's transaction is that old too: capture
 * checks its lease before re-claiming (capture.ts restart → ha.verify), so a replaced daemon still stops.
 */
import { FencedError, TransactionTimedOutError } from '../errors.js';

/** Kafka's answers that mean another producer (or the broker's transaction timer) bumped our epoch, by protocol error name. */
export const FENCING_ANSWERS: ReadonlySet<string> = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

/**
 * `err` (already classified by the adapter) for a transaction opened at `openedAt`: a FencedError for a
 * transaction older than `timeoutMs` becomes a TransactionTimedOutError; anything else is returned as is.
 */
export function fencedOrTimedOut(err: unknown, openedAt: number, timeoutMs: number, now = Date.now()): unknown {
  if (!(err instanceof FencedError)) return err;
  const openMs = now - openedAt;
  if (openMs < timeoutMs) return err;
  return new TransactionTimedOutError(openMs, timeoutMs, err.cause);
}
