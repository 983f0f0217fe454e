import { describe, expect, it } from 'vitest';
import { bySize, paramBytes, PipelinedSession, statementBytes } from './pipelined-session.js';

const st = (sql: string, ...params: unknown[]) => ({ sql, params });

describe('bySize', () => {
  it('keeps statements in order, in groups under the limit; a larger statement goes alone', () => {
    const a = st('INSERT a', 'x'.repeat(40));
    const b = st('INSERT b', 'y'.repeat(40));
    const big = st('INSERT big', Buffer.alloc(500));
    const c = st('UPDATE c', 1, 2);
    expect(bySize([a, b, big, c], 120)).toEqual([[a, b], [big], [c]]);
    expect(bySize([a, b, c])).toEqual([[a, b, c]]);
    expect(bySize([])).toEqual([]);
  });

  it('measures bytes as sent, not UTF-16 units: CJK text is 3 bytes a character, a Buffer travels as hex', () => {
    const cjk = '漢字'.repeat(50); // 100 UTF-16 units, 300 bytes of UTF-8
    expect(paramBytes(cjk)).toBe(302);
    expect(paramBytes('😀')).toBe(6); // two UTF-16 units, four bytes
    expect(paramBytes(Buffer.alloc(10))).toBe(23);
    expect(statementBytes(st('INSERT INTO `表` VALUES (?)', cjk))).toBe(Buffer.byteLength('INSERT INTO `表` VALUES (?)') + 302);
    // Three statements of 100 CJK characters each: ~320 bytes apiece, so at most one per 400-byte group
    // (counted in UTF-16 units they would have looked like ~120 and gone three together).
    const three = [st('INSERT a (?)', cjk), st('INSERT b (?)', cjk), st('INSERT c (?)', cjk)];
    expect(bySize(three, 400).map((g) => g.length)).toEqual([1, 1, 1]);
    expect(bySize(three, 700).map((g) => g.length)).toEqual([2, 1]);
  });
});

describe('PipelinedSession', () => {
  /** A connection recording each call: `query` gets a multi-statement text, `execute` one prepared statement. */
  function fakeConnection(withExecute = true) {
    const calls: { via: 'query' | 'execute' | 'unprepare'; sql: string }[] = [];
    const executed: unknown[][] = [];
    const conn = {
      query: async (sql: string) => {
        calls.push({ via: 'query', sql });
        const n = sql.split(';\n').length;
        return [n === 1 ? { via: 'query' } : Array.from({ length: n }, () => ({ via: 'query' })), []] as [unknown, unknown];
      },
      ...(withExecute
        ? {
            execute: async (sql: string, params?: unknown[]) => {
              calls.push({ via: 'execute', sql });
              executed.push(params ?? []);
              return [{ via: 'execute' }, []] as [unknown, unknown];
            },
            unprepare: (sql: string) => void calls.push({ via: 'unprepare', sql }),
          }
        : {}),
    };
    return { conn, calls, executed };
  }
  const big = Buffer.alloc(2 << 20);

  it('sends a write with a large value alone as a prepared statement (closed after), the others together, in order', async () => {
    const { conn, calls, executed } = fakeConnection();
    const session = new PipelinedSession(conn);
    const checked: unknown[] = [];
    session.defer({ ...st('INSERT marker', 1), check: (r) => checked.push(r) });
    const results = await session.roundTrip([st('INSERT big', 1, big, undefined), st('UPDATE small', 'x'), st('DELETE small', 2)]);
    expect(executed.map((params) => params.map((p) => (p === big ? 'big' : p)))).toEqual([[1, 'big', null]]); // undefined binds as NULL, as in the text protocol
    expect(calls).toEqual([
      { via: 'query', sql: 'INSERT marker' },
      { via: 'execute', sql: 'INSERT big' },
      { via: 'unprepare', sql: 'INSERT big' },
      { via: 'query', sql: 'UPDATE small;\nDELETE small' },
    ]);
    expect(results).toEqual([{ via: 'execute' }, { via: 'query' }, { via: 'query' }]);
    expect(checked).toEqual([{ via: 'query' }]);
  });

  it('keeps reads, small values and connections without execute in the text protocol; CJK text counts by bytes', async () => {
    const { conn, calls } = fakeConnection();
    const cjk = '字'.repeat(400_000); // 400,000 UTF-16 units, 1.2 MB of UTF-8
    await new PipelinedSession(conn).roundTrip([st('SELECT big', big), st('INSERT small', 'x'.repeat(1000)), st('INSERT cjk', cjk)]);
    // (The read's 4 MB hex literal fills a query of its own: MAX_ROUND_TRIP_BYTES.)
    expect(calls.map((c) => `${c.via} ${c.sql}`)).toEqual(['query SELECT big', 'query INSERT small', 'execute INSERT cjk', 'unprepare INSERT cjk']);
    const plain = fakeConnection(false);
    await new PipelinedSession(plain.conn).roundTrip([st('INSERT big', big)]);
    expect(plain.calls).toEqual([{ via: 'query', sql: 'INSERT big' }]);
  });

  it('sends text-protocol statements in queries of at most about 4 MB (many deferred tombstone INSERTs stay below max_allowed_packet)', async () => {
    const { conn, calls } = fakeConnection();
    const session = new PipelinedSession(conn);
    session.defer(...Array.from({ length: 10 }, (_, i) => st(`INSERT t${i}`, 'x'.repeat(900_000))));
    await session.roundTrip([st('SELECT 1', 'y')]);
    expect(calls.map((c) => c.sql.split(';\n').length)).toEqual([4, 4, 3]);
    expect(calls.every((c) => c.via === 'query')).toBe(true);
  });

  it('closes the prepared statement when it fails, and sends nothing after the failure', async () => {
    const { conn, calls } = fakeConnection();
    conn.execute = async (sql: string) => {
      calls.push({ via: 'execute', sql });
      throw new Error('duplicate key');
    };
    await expect(new PipelinedSession(conn).roundTrip([st('INSERT big', big), st('INSERT after', 'x')])).rejects.toThrow('duplicate key');
    expect(calls.map((c) => c.via)).toEqual(['execute', 'unprepare']);
  });
});
