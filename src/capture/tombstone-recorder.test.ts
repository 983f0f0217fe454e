import type mysql from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CaptureBehindError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { CapturedPart } from './assembler.js';
import { TombstoneRecorder } from './tombstone-recorder.js';

/** A pool that records the tombstone writes and fails the first `failures` of them. */
function fakePool(failures = 0) {
  const writes: unknown[][] = [];
  let left = failures;
  const pool = {
    query: async (_sql: string, params: unknown[]) => {
      if (left-- > 0) throw Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
      writes.push(params);
      return [[], []];
    },
  } as unknown as mysql.Pool;
  return { pool, writes };
}
const log = { warn: vi.fn() } as unknown as Logger;
const part = (position: string | undefined, deletes = 0): CapturedPart => ({
  txId: position ?? 'open',
  origin: 'a',
  applied: false,
  chunks: [],
  notifications: [],
  tombstones: Array.from({ length: deletes }, (_, i) => ({ schema: 'app', table: 't', key: { id: i }, version: '5' })),
  bytes: 0,
  rows: deletes,
  ...(position ? { end: { position, commitTime: 0 } } : {}),
});

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('TombstoneRecorder', () => {
  it('covers a position once the tombstones up to it are written, and wakes the waiters in order', async () => {
    const { pool, writes } = fakePool();
    const recorder = new TombstoneRecorder(pool, 'a', log);
    recorder.start('0-1-10');
    await expect(recorder.waitUntilCovered('0-1-9', 1000)).resolves.toBeUndefined();
    const waiting = recorder.waitUntilCovered('0-1-12', 5000);
    recorder.add(part('0-1-11', 2));
    recorder.add(part(undefined)); // a part without deletes or end: nothing to record
    recorder.add(part('0-1-12'));
    await vi.advanceTimersByTimeAsync(0);
    await expect(waiting).resolves.toBeUndefined();
    expect(recorder.covered).toBe('0-1-12');
    expect(writes).toHaveLength(1);
    expect(writes[0]!.filter((p) => p === 'a')).toHaveLength(2); // two tombstones, origin a
    await recorder.stop();
  });

  it('retries a failed write and keeps coverage back meanwhile; a waiter that times out gets CaptureBehindError', async () => {
    const { pool, writes } = fakePool(1);
    const recorder = new TombstoneRecorder(pool, 'a', log);
    recorder.start('0-1-1');
    const late = expect(recorder.waitUntilCovered('0-1-2', 500)).rejects.toBeInstanceOf(CaptureBehindError);
    const patient = recorder.waitUntilCovered('0-1-2', 5000);
    recorder.add(part('0-1-2', 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(recorder.covered).toBe('0-1-1');
    await vi.advanceTimersByTimeAsync(500);
    await late;
    await vi.advanceTimersByTimeAsync(600);
    await expect(patient).resolves.toBeUndefined();
    expect(writes).toHaveLength(1);
    expect(recorder.covered).toBe('0-1-2');
    const stopped = recorder.stop();
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
  });
});
