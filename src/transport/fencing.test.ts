import { describe, expect, it } from 'vitest';
import { FencedError, KafkaUnavailableError, TransactionTimedOutError } from '../errors.js';
import { fencedOrTimedOut } from './fencing.js';

describe('fencedOrTimedOut', () => {
  const answer = new Error('INVALID_PRODUCER_EPOCH');
  it('keeps a fencing answer to a young transaction fatal: a successor took over', () => {
    const err = fencedOrTimedOut(new FencedError(answer), 10_000, 5000, 12_000);
    expect(err).toBeInstanceOf(FencedError);
    expect(err).toMatchObject({ fatal: true, code: 'DRC_FENCED' });
  });
  it('makes a fencing answer to a transaction open past its timeout retryable: the broker aborted it', () => {
    const err = fencedOrTimedOut(new FencedError(answer), 10_000, 5000, 15_000);
    expect(err).toBeInstanceOf(TransactionTimedOutError);
    expect(err).toMatchObject({ fatal: false, retryable: true, code: 'DRC_KAFKA_TRANSACTION_TIMED_OUT', cause: answer, context: { openMs: 5000, timeoutMs: 5000 } });
    expect((err as Error).message).toContain('kafka.transactionTimeout');
  });
  it('leaves other errors alone, however old the transaction', () => {
    const other = new KafkaUnavailableError('Kafka: gone');
    expect(fencedOrTimedOut(other, 0, 5000, 60_000)).toBe(other);
  });
});
