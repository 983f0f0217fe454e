import type mysql from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CaptureBehindError } from '../errors.js';
import type { Row } from '../model/value.js';
import type { Logger } from '../ops/logger.js';
import type { CapturedPart } from './assembler.js';
import { TombstoneRecorder } from './tombstone-recorder.js';

/** Columns information_schema describes for the fake pool, by table. */
const COLUMNS: Record<string, Record<string, unknown>[]> = {
  t: [{ s: 'app', t: 't', COLUMN_NAME: 'id', DATA_TYPE: 'int', COLUMN_TYPE: 'int(11)', CHARACTER_SET_NAME: null, COLLATION_NAME: null }],
  named: [{ s: 'app', t: 'named', COLUMN_NAME: 'id', DATA_TYPE: 'varchar', COLUMN_TYPE: 'varchar(10)', CHARACTER_SET_NAME: 'utf8mb4', COLLATION_NAME: 'utf8mb4_general_ci' }],
};

/** A pool that records the tombstone writes (and the information_schema reads) and fails the first `failures` writes. */
function fakePool(failures = 0) {
  const writes: { sql: string; params: unknown[] }[] = [];
  const schemaReads: unknown[][] = [];
  let left = failures;
  const pool = {
    query: async (sql: string, params: unknown[]) => {
      if (sql.includes('information_schema.COLUMNS')) {
        schemaReads.push(params);
        return [params.filter((_, i) => i % 2 === 1).flatMap((t) => COLUMNS[String(t)] ?? []), []];
      }
      if (left-- > 0) throw Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
      writes.push({ sql, params });
      return [[], []];
    },
  } as unknown as mysql.Pool;
  return { pool, writes, schemaReads };
}
const log = { warn: vi.fn() } as unknown as Logger;
const part = (position: string | undefined, deletes = 0, table = 't', key = (i: number): Row => ({ id: i })): CapturedPart => ({
  txId: position ?? 'open',
  origin: 'a',
  applied: false,
  chunks: [],
  notifications: [],
  tombstones: Array.from({ length: deletes }, (_, i) => ({ schema: 'app', table, key: key(i), version: '5' })),
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
    expect(writes[0]!.params.filter((p) => p === 'a')).toHaveLength(2); // two tombstones, origin a
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

  it('records each tombstone under the server identity of its key, reading a table\'s collations once per minute', async () => {
    const { pool, writes, schemaReads } = fakePool();
    const recorder = new TombstoneRecorder(pool, 'a', log);
    recorder.start('0-1-1');
    recorder.add(part('0-1-2', 1, 'named', () => ({ id: 'Alice' })));
    await vi.advanceTimersByTimeAsync(0);
    recorder.add(part('0-1-3', 2));
    await vi.advanceTimersByTimeAsync(0);
    expect(schemaReads).toEqual([['app', 'named'], ['app', 't']]);
    expect(writes[0]!.sql).toContain('HEX(WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE utf8mb4_general_ci AS CHAR(10)))');
    expect(writes[0]!.params).toContain('Alice');
    expect(writes[1]!.params).toContain('[["id","0"]]'); // an INT key: its exact text
    recorder.add(part('0-1-4', 1, 'named', () => ({ id: 'bob' })));
    await vi.advanceTimersByTimeAsync(0);
    expect(schemaReads).toHaveLength(2); // still known
    await vi.advanceTimersByTimeAsync(61_000);
    recorder.add(part('0-1-5', 1, 'named', () => ({ id: 'carol' })));
    await vi.advanceTimersByTimeAsync(0);
    expect(schemaReads).toEqual([['app', 'named'], ['app', 't'], ['app', 'named']]); // read again: an ALTER may have changed it
    expect(recorder.covered).toBe('0-1-5');
    const stopped = recorder.stop();
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
  });

  it("records a transaction's receipt time before its tombstones, and forgets receipts once Kafka has their transactions", async () => {
    const { pool, writes } = fakePool();
    const stored = ['0-1-2', '0-1-3', 'file:b.000001:400+'];
    const query = pool.query.bind(pool);
    (pool as unknown as { query: typeof pool.query }).query = (async (sql: string, params: unknown[]) => {
      if (sql.startsWith('SELECT tx_id')) return [stored.map((tx_id) => ({ tx_id })), []];
      return query(sql, params);
    }) as typeof pool.query;
    let committed = '0-1-1';
    const recorder = new TombstoneRecorder(pool, 'a', log, undefined, () => committed);
    recorder.start('0-1-1');
    recorder.add({ ...part('0-1-2', 1), receipt: { txId: '0-1-2', receivedAt: 1234 } });
    await vi.advanceTimersByTimeAsync(0);
    expect(writes.map((w) => w.sql.trim().split(/\s+/).slice(0, 3).join(' '))).toEqual(['INSERT INTO drc_meta.capture_receipts', 'INSERT INTO drc_meta.tombstones']);
    expect(writes[0]!.params).toEqual(['0-1-2', 1234]);
    committed = '0-1-2';
    await vi.advanceTimersByTimeAsync(5_500);
    const deletes = writes.filter((w) => w.sql.startsWith('DELETE FROM drc_meta.capture_receipts'));
    expect(deletes.map((w) => w.params)).toEqual([[['0-1-2']]]); // 0-1-3 is not on Kafka yet
    const stopped = recorder.stop();
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
  });

  it('does not retry, after clear(), a batch that failed before it (the restart reads those parts again)', async () => {
    const { pool, writes } = fakePool(1);
    const recorder = new TombstoneRecorder(pool, 'a', log);
    recorder.start('0-1-1');
    recorder.add({ ...part('0-1-2', 1), receipt: { txId: '0-1-2', receivedAt: 1 } });
    await vi.advanceTimersByTimeAsync(0);
    await recorder.clear();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(writes).toEqual([]);
    expect(recorder.covered).toBe('0-1-1');
    const stopped = recorder.stop();
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
  });
});
