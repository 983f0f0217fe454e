import { describe, expect, it } from 'vitest';
import { RecordingPool, type ScriptedCall } from '../../../src/db/recording-session.js';
import { DrcError } from '../../../src/errors.js';
import type { RowChange } from '../../../src/model/change.js';
import { encodeTransaction } from '../../../src/model/envelope.js';
import { Ownership } from '../../../src/model/ownership.js';
import { createLogger } from '../../../src/ops/logger.js';
import { MemoryMessageStream } from '../../../src/transport/memory/message-stream.js';
import { Applier, pausedReason, type ApplierConfig } from '../../../src/apply/applier.js';

const config = (workers: number): ApplierConfig => ({
  apply: { workers, maxBufferBytes: 1 << 20, groupMaxTransactions: 1, groupMaxRows: 5000, onUnknownColumn: 'pause', onError: 'pause', tombstoneRetention: 86_400_000 },
  replicate: { include: ['*.*'], exclude: [], versionColumn: null },
  tables: {},
  supervision: { initialDelay: 100, maxDelay: 10_000, giveUpAfter: 60_000, pausedRetry: 2_000 },
});

const insert = (id: number, extra?: string): RowChange => ({ schema: 's', table: 't', op: 'insert', key: { id }, after: { id, v: id, ...(extra ? { extra } : {}) } });
const message = (n: number, change: RowChange) => encodeTransaction({ origin: 'a', id: `a-${n}`, position: `pos-${n}`, commitTime: 1000 + n, changes: [change] }, 1 << 20)[0]!;

/** A database with an empty table s.t (id, v [, extra]); `hold` delays the row reads of a key. */
function database(options: { columns?: string[]; hold?: Map<number, Promise<void>> } = {}) {
  const columns = options.columns ?? ['id', 'v'];
  return (call: ScriptedCall): unknown => {
    if (call.sql.includes('FROM drc_meta.apply_position')) return [];
    if (call.sql.includes('information_schema.COLUMNS')) return columns.map((c) => ({ c }));
    if (call.sql.includes('information_schema.STATISTICS')) return [{ i: 'PRIMARY', c: 'id' }];
    if (call.sql.includes('information_schema.KEY_COLUMN_USAGE')) return []; // no foreign keys
    if (/^\(SELECT 0 AS `drc key index`, .* FROM `s`.`t`/.test(call.sql)) return (options.hold?.get(call.params[0] as number) ?? Promise.resolve()).then(() => []);
    return undefined;
  };
}

function applier(pool: RecordingPool, stream: MemoryMessageStream, workers = 2, fence?: { statement(): { sql: string; params: unknown[]; check?: (r: unknown) => void } }) {
  return new Applier({
    ezone: 'b',
    origin: 'a',
    config: config(workers),
    log: createLogger('silent'),
    pool,
    flavor: 'mariadb',
    stream,
    progress: { waitUntilCovered: async () => undefined },
    ownership: new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: {}, global: {} }),
    slotBase: 64,
    deadLetter: async () => undefined,
    publishConflicts: async () => undefined,
    ...(fence ? { fence } : {}),
  });
}

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  for (const started = Date.now(); !probe(); ) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The next_offset of each COMMIT round trip, in the order they were sent. */
const committedOffsets = (pool: RecordingPool) =>
  pool.trips.filter((t) => t.at(-1)?.sql === 'COMMIT' && t.at(-1)?.ran).map((t) => t.find((s) => s.sql.startsWith('INSERT INTO drc_meta.apply_position'))?.params[2]);

describe('Applier', () => {
  it('applies each source transaction with the marker first and the position before COMMIT, in source order across workers', async () => {
    const hold = new Map<number, Promise<void>>();
    let release!: () => void;
    hold.set(1, new Promise<void>((r) => (release = r)));
    const pool = new RecordingPool(database({ hold }));
    const stream = new MemoryMessageStream();
    [1, 2, 3].forEach((n) => stream.append(message(n, insert(n))));
    const a = applier(pool, stream, 2);
    await a.start();
    // Group 1 is held in its row read; group 2 runs beside it on the other worker, group 3 waits for a worker.
    await until('two groups in flight', () => a.sample().inflight === 2 && pool.connections.length === 2);
    expect(committedOffsets(pool)).toEqual([]);
    release();
    await until('all applied', () => a.stats.nextOffset === '3');
    expect(committedOffsets(pool)).toEqual(['1', '2', '3']);
    for (const conn of pool.connections) {
      const statements = conn.statements;
      expect(statements[0]?.sql).toBe('BEGIN');
      expect(statements[1]?.sql).toContain('INSERT INTO drc_meta.tx_origin');
      expect(statements.at(-2)?.sql).toContain('INSERT INTO drc_meta.apply_position');
      expect(statements.at(-1)?.sql).toBe('COMMIT');
      expect(conn.released).toBe(true);
    }
    // Worker slots: the stream's base plus the lowest free slot.
    expect(pool.connections.map((c) => c.statements[1]?.params[0]).sort()).toEqual([64, 64, 65]);
    expect(a.stats).toMatchObject({ transactions: 3, groups: 3, rowChanges: 3, paused: undefined });
    await a.stop();
  });

  it('pauses on a column missing here and resumes from the applied position once it exists', async () => {
    const columns = ['id', 'v'];
    const pool = new RecordingPool(database({ columns }));
    const stream = new MemoryMessageStream();
    stream.append(message(1, insert(1)));
    stream.append(message(2, insert(2, 'new')));
    const a = applier(pool, stream, 1);
    await a.start();
    await until('paused', () => a.stats.paused !== undefined);
    expect(a.stats.paused).toMatch(/table s\.t has no column extra here/);
    expect(a.stats.nextOffset).toBe('1');
    columns.push('extra');
    await until('resumed', () => a.stats.nextOffset === '2');
    expect(a.stats.paused).toBeUndefined();
    expect(stream.starts).toEqual(expect.arrayContaining([undefined, '1']));
    await a.stop();
  });

  it('restarts at the applied position the database has, when it is ahead of what the applier knows (a COMMIT whose answer was lost)', async () => {
    let stored: string | undefined = undefined;
    const base = database({ columns: ['id', 'v'] });
    const pool = new RecordingPool((call) => {
      if (call.sql.includes('FROM drc_meta.apply_position')) return stored === undefined ? [] : [{ next_offset: stored }];
      return base(call);
    });
    const stream = new MemoryMessageStream();
    stream.append(message(1, insert(1)));
    stream.append(message(2, insert(2, 'new'))); // fails here: no column extra
    const a = applier(pool, stream, 1);
    await a.start();
    await until('paused', () => a.stats.paused !== undefined);
    // Meanwhile the database says offset 2 was committed (its COMMIT's answer never came back).
    stored = '2';
    await until('restarted past it', () => stream.starts.includes('2'));
    expect(stream.starts).not.toContain('1');
    await a.stop();
  });

  it('stops quietly, committing nothing more, when the fence says this daemon was replaced', async () => {
    const pool = new RecordingPool(database());
    const stream = new MemoryMessageStream();
    stream.append(message(1, insert(1)));
    const fence = {
      statement: () => ({
        sql: 'SELECT 1 AS leader',
        params: [],
        check: () => {
          throw new DrcError('DRC_NOT_LEADER', 'replaced');
        },
      }),
    };
    const a = applier(pool, stream, 1, fence);
    await a.start();
    await until('the first round trip', () => pool.trips.some((t) => t.some((s) => s.sql === 'SELECT 1 AS leader')));
    await new Promise((r) => setTimeout(r, 300));
    expect(committedOffsets(pool)).toEqual([]);
    expect(stream.starts).toEqual([undefined]);
    expect(a.state.failures).toBe(0);
    await a.stop();
  });
});

describe('pausedReason', () => {
  const error = (code: string) => ({ code, message: `${code} happened`, at: 0, context: {} });
  it('reports a schema mismatch at once, any other failure only once the supervisor gave up', () => {
    expect(pausedReason({ status: 'running', failures: 0, failingSince: undefined, lastError: error('DRC_SCHEMA_MISMATCH') })).toBeUndefined();
    expect(pausedReason({ status: 'retrying', failures: 1, failingSince: 1, lastError: error('DRC_SCHEMA_MISMATCH') })).toBe('DRC_SCHEMA_MISMATCH happened');
    expect(pausedReason({ status: 'retrying', failures: 1, failingSince: 1, lastError: error('DRC_UNEXPECTED') })).toBeUndefined();
    expect(pausedReason({ status: 'paused', failures: 9, failingSince: 1, lastError: error('DRC_UNEXPECTED') })).toBe('DRC_UNEXPECTED happened');
  });
});
