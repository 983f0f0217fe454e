import { describe, expect, it } from 'vitest';
import { RecordingPool, type ScriptedCall } from '../db/recording-session.js';
import type { TxChunk } from '../model/envelope.js';
import { Ownership } from '../model/ownership.js';
import { createLogger } from '../ops/logger.js';
import { BigTransaction } from './big-transaction.js';
import { CheckpointStore } from './checkpoint-store.js';
import type { TargetContext } from './types.js';

const info = { columns: new Set(['id', 'v']), primaryKey: ['id'], uniqueKeys: [] };
const context = {
  ezone: 'b',
  flavor: 'mariadb',
  config: { replicate: { include: ['*.*'], exclude: [], versionColumn: 'v' }, tables: {}, apply: { onUnknownColumn: 'pause' } },
  ownership: new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: {}, global: {} }),
  tables: { get: async () => info, uniqueKeysOf: () => [], forget: () => undefined },
  coverage: 'not-needed',
  log: createLogger('silent'),
} as unknown as TargetContext;

const chunk = (seq: number, last: boolean, id: number): TxChunk =>
  ({ v: 1, kind: 'tx', origin: 'a', id: 'T', pos: 'p', ts: 0, seq, last, changes: [{ schema: 's', table: 't', op: 'insert', key: { id }, after: { id, v: 1 }, version: '1' }] }) as unknown as TxChunk;

describe('BigTransaction', () => {
  it('closing while the last chunk is applied waits for it, and the abandoned transaction never commits', async () => {
    let release: (() => void) | undefined;
    let holdNextRead = false;
    const pool = new RecordingPool((call: ScriptedCall): unknown => {
      if (call.sql.startsWith('(SELECT') && holdNextRead) {
        holdNextRead = false;
        return new Promise<unknown>((r) => (release = () => r([])));
      }
      if (call.sql.startsWith('(SELECT') || call.sql.startsWith('WITH k AS')) return [];
      return undefined;
    });
    let current = true;
    const committed: string[] = [];
    const big = new BigTransaction({
      pool,
      context,
      checkpoint: new CheckpointStore(pool, 'mariadb', 'a'),
      origin: 'a',
      slot: 9,
      log: createLogger('silent'),
      lastCommit: () => Promise.resolve(),
      committed: (g) => void committed.push(g.nextOffset),
    });
    await big.take({ kind: 'part', chunk: chunk(0, false, 1), offset: '10', bytes: 1 }, () => current);
    holdNextRead = true;
    const taking = big.take({ kind: 'part', chunk: chunk(1, true, 2), offset: '11', bytes: 1 }, () => current);
    await new Promise((r) => setTimeout(r, 10));
    // A recovery: the stream's generation moves on, then teardown closes the big transaction.
    current = false;
    const closing = big.close();
    release!();
    await expect(taking).rejects.toMatchObject({ code: 'DRC_APPLY_STALE' });
    await closing;
    const statements = pool.connections[0]!.statements.map((st) => st.sql);
    expect(statements.filter((q) => q === 'COMMIT')).toEqual([]);
    expect(statements.some((q) => q.includes('drc_meta.apply_position'))).toBe(false);
    expect(statements.at(-1)).toBe('ROLLBACK');
    expect(committed).toEqual([]);
    expect(pool.connections[0]!.released).toBe(true);
  });
});
