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

type Write = { sql: string; params: unknown[] };

/**
 * A pool that records the committed writes (and the information_schema reads) and fails the first
 * `failures` writes. Writes on a connection (getConnection) are held in its transaction until its
 * COMMIT; `destroy()` drops them and fails what it was waiting for, as the server and mysql2 do.
 * `delay(sql)`: how long a statement takes (ms; Infinity: no answer); `lockWaitS`: the session's.
 */
function fakePool(failures = 0, delay: (sql: string) => number = () => 0, lockWaitS = 50) {
  const writes: Write[] = [];
  const schemaReads: unknown[][] = [];
  const sessions: { destroyed: boolean; released: number }[] = [];
  let left = failures;
  const answer = (ms: number, rejectors: Set<(err: Error) => void>): Promise<void> =>
    ms === 0
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          rejectors.add(reject);
          if (Number.isFinite(ms)) setTimeout(() => (rejectors.delete(reject), resolve()), ms);
        });
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
    getConnection: async () => {
      const session = { destroyed: false, released: 0 };
      sessions.push(session);
      let tx: Write[] | undefined;
      const rejectors = new Set<(err: Error) => void>();
      return {
        query: async (sql: string, params: unknown[] = []) => {
          if (session.destroyed) throw new Error("Can't add new command when connection is in closed state");
          await answer(delay(sql), rejectors);
          if (sql.startsWith('SELECT @@SESSION.innodb_lock_wait_timeout')) return [[{ s: lockWaitS }], []];
          if (sql === 'BEGIN') tx = [];
          else if (sql === 'COMMIT') {
            writes.push(...(tx ?? []));
            tx = undefined;
          } else {
            const before = writes.length;
            const result = await pool.query(sql, params); // the fake pool's failures and reads
            if (tx) tx.push(...writes.splice(before));
            return result;
          }
          return [[], []];
        },
        release: () => session.released++,
        destroy: () => {
          session.destroyed = true;
          tx = undefined; // rolled back
          for (const reject of rejectors) reject(new Error('Connection destroyed'));
          rejectors.clear();
        },
      };
    },
  } as unknown as mysql.Pool;
  return { pool, writes, schemaReads, sessions };
}
const log = { warn: vi.fn() } as unknown as Logger;
const tombstoneWrite = (sql: string) => sql.includes('INTO drc_meta.tombstones');
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
    expect(writes[0]!.params.filter((p) => p === 'a')).toHaveLength(4); // two tombstones, origin a (each also its key's newest delete, delete_origin a)
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
  it('clear() ends a batch caught in a lock wait at once, and it never commits: the restart records it again (no 10 s cap, no late write)', async () => {
    const { pool, writes, sessions } = fakePool(0, (sql) => (tombstoneWrite(sql) ? 30_000 : 0));
    const recorder = new TombstoneRecorder(pool, 'a', log);
    recorder.start('0-1-1');
    recorder.add({ ...part('0-1-2', 1), receipt: { txId: '0-1-2', receivedAt: 1 } });
    await vi.advanceTimersByTimeAsync(100); // the tombstone write waits for a row lock
    let cleared = false;
    void recorder.clear().then(() => (cleared = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(cleared).toBe(true);
    expect(sessions[0]!.destroyed).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000); // the lock wait would have ended by now
    expect(writes).toEqual([]); // neither the receipt nor the tombstone: rolled back
    expect(recorder.covered).toBe('0-1-1');
    const stopped = recorder.stop();
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
  });

  it('clear() waits for a COMMIT already sent, past 10 s, so that the restart reads its receipts back', async () => {
    const { pool, writes, sessions } = fakePool(0, (sql) => (sql === 'COMMIT' ? 20_000 : 0));
    const recorder = new TombstoneRecorder(pool, 'a', log);
    recorder.start('0-1-1');
    recorder.add({ ...part('0-1-2', 1), receipt: { txId: '0-1-2', receivedAt: 1 } });
    await vi.advanceTimersByTimeAsync(100);
    let cleared = false;
    void recorder.clear().then(() => (cleared = true));
    await vi.advanceTimersByTimeAsync(15_000);
    expect(cleared).toBe(false);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(cleared).toBe(true);
    expect(writes.map((w) => w.sql.trim().split(/\s+/).slice(0, 3).join(' '))).toEqual(['INSERT INTO drc_meta.capture_receipts', 'INSERT INTO drc_meta.tombstones']);
    expect(sessions[0]).toEqual({ destroyed: false, released: 1 });
    const stopped = recorder.stop();
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
  });

  it("clear() gives a COMMIT without an answer the session's lock wait (read from the server) and a margin, then ends it", async () => {
    const { pool, sessions } = fakePool(0, (sql) => (sql === 'COMMIT' ? Infinity : 0), 2);
    const recorder = new TombstoneRecorder(pool, 'a', log);
    recorder.start('0-1-1');
    recorder.add(part('0-1-2', 1));
    await vi.advanceTimersByTimeAsync(100);
    let cleared = false;
    void recorder.clear().then(() => (cleared = true));
    await vi.advanceTimersByTimeAsync(6_900);
    expect(cleared).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(cleared).toBe(true);
    expect(sessions[0]!.destroyed).toBe(true);
    expect(recorder.covered).toBe('0-1-1');
    const stopped = recorder.stop();
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
  });

  it('a batch cleared before it got its connection opens no transaction', async () => {
    const { pool, writes, sessions } = fakePool();
    const getConnection = pool.getConnection.bind(pool);
    let give: () => void = () => undefined;
    (pool as unknown as { getConnection: () => Promise<unknown> }).getConnection = () => new Promise((resolve) => (give = () => resolve(getConnection())));
    const recorder = new TombstoneRecorder(pool, 'a', log);
    recorder.start('0-1-1');
    recorder.add(part('0-1-2', 1));
    await vi.advanceTimersByTimeAsync(100);
    await recorder.clear();
    give();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(writes).toEqual([]);
    expect(sessions[0]).toEqual({ destroyed: false, released: 1 });
    const stopped = recorder.stop();
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
  });
});
