import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';

describe('BoundedQueue', () => {
  it('signals full past the budget and drained below half of it', async () => {
    const events: string[] = [];
    const q = new BoundedQueue<number>(100, (n) => n, { onFull: () => events.push('full'), onDrained: () => events.push('drained') });
    q.push(60);
    q.push(50);
    expect(events).toEqual(['full']);
    expect(await q.take(60, 10)).toEqual([60]);
    expect(events).toEqual(['full', 'drained']);
    expect(q.size).toBe(50);
  });

  it('takes at least one item even when it is larger than the batch limit, and batches the rest', async () => {
    const q = new BoundedQueue<number>(1000, (n) => n);
    [500, 10, 20, 30].forEach((n) => q.push(n));
    expect(await q.take(100, 10)).toEqual([500]);
    expect(await q.take(100, 10)).toEqual([10, 20, 30]);
  });

  it('waits for an item or the timeout', async () => {
    const q = new BoundedQueue<number>(1000, (n) => n);
    const started = Date.now();
    expect(await q.take(100, 50)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    setTimeout(() => q.push(7), 10);
    expect(await q.take(100, 5000)).toEqual([7]);
  });

  it('ends a take waiting across a clear with nothing, leaving what is pushed after the clear to the next take', async () => {
    // A stage that restarts clears its queue; a take of the old epoch must not swallow the new epoch's
    // first items (its caller drops them as stale: the redelivered message was lost, the stream stalled).
    const q = new BoundedQueue<number>(1000, (n) => n);
    const waiting = q.take(100, 5000);
    q.clear();
    q.push(1);
    expect(await waiting).toEqual([]);
    expect(await q.take(100, 10)).toEqual([1]);
  });
});
