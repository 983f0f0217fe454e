import type mysql from 'mysql2/promise';
import { describe, expect, it, vi } from 'vitest';
import type { Notification } from '../model/notify.js';
import type { Logger } from '../ops/logger.js';
import type { CapturedPart } from './assembler.js';
import { TombstoneRecorder } from './tombstone-recorder.js';

const log = { warn: vi.fn(), info: vi.fn() } as unknown as Logger;

/** A pool whose drc_meta.bootstrap_journal holds `registered` (acked or not), recording every statement. */
function fakePool(registered: { schema: string; table: string; acked: string | null }[], failReads = 0) {
  const statements: { sql: string; params: unknown[] }[] = [];
  const query = async (sql: string, params: unknown[] = []) => {
    statements.push({ sql, params });
    if (sql.includes('FROM drc_meta.bootstrap_journal') && failReads-- > 0) throw Object.assign(new Error('connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' });
    if (sql.includes('FROM drc_meta.bootstrap_journal')) return [registered.map((r) => ({ schema_name: r.schema, table_name: r.table, acked_from: r.acked })), []];
    if (sql.startsWith('UPDATE drc_meta.bootstrap_journal SET acked_from')) {
      for (const r of registered) if (r.schema === params[1] && r.table === params[2] && r.acked === null) r.acked = String(params[0]);
      return [{ affectedRows: 1 }, []];
    }
    if (sql.startsWith('SELECT @@SESSION.innodb_lock_wait_timeout')) return [[{ s: 50 }], []];
    return [[], []];
  };
  const pool = { query, getConnection: async () => ({ query, release: () => undefined, destroy: () => undefined, threadId: 1 }) };
  return { pool: pool as unknown as mysql.Pool, statements };
}

const note = (table: string, id: number, origin: string): Notification => ({ v: 1, schema: 'app', table, key: { id }, op: 'update', origin, version: null, tx: 'x', ts: 0 });
const part = (position: string, origin: string, notifications: Notification[]): CapturedPart => ({
  txId: position,
  origin,
  applied: origin !== 'a',
  chunks: [],
  notifications,
  tombstones: [],
  bytes: 0,
  rows: notifications.length,
  end: { position, commitTime: 0 },
});

const until = async (what: () => boolean) => {
  for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(what()).toBe(true);
};

describe('TombstoneRecorder journal (drc bootstrap of tables without a version column)', () => {
  it("acknowledges a registered table at the last position queued, then journals every change of it (local or applied) but the copy's own, before coverage moves", async () => {
    const registered = [{ schema: 'app', table: 'u', acked: null as string | null }];
    const { pool, statements } = fakePool(registered);
    const recorder = new TombstoneRecorder(pool, 'a', log, undefined, () => '', true);
    await recorder.loadJournal();
    recorder.start('0-1-10');
    recorder.add(part('0-1-11', 'a', [note('u', 1, 'a')])); // before the set is read: not journaled
    await until(() => registered[0]!.acked !== null);
    expect(registered[0]!.acked).toBe('0-1-11');
    recorder.add(part('0-1-12', 'b', [note('u', 2, 'b'), note('other', 3, 'b')]));
    recorder.add(part('0-1-13', 'drc-bootstrap', [note('u', 4, 'drc-bootstrap')]));
    recorder.add(part('0-1-14', 'a', [note('u', 5, 'a')]));
    await recorder.waitUntilCovered('0-1-14', 5_000);
    const journal = statements.filter((s) => s.sql.includes('INTO drc_meta.bootstrap_keys'));
    const keys = journal.flatMap((s) => s.params.filter((p) => typeof p === 'string' && p.startsWith('[["id"')));
    expect([...new Set(keys)]).toEqual(['[["id","2"]]', '[["id","5"]]']); // the identity's text and the stored key: 2 (from b), 5 (local)
    // Coverage is published for the copy to wait on, while a table is journaled.
    await until(() => statements.some((s) => s.sql.includes('INTO drc_meta.journal_coverage')));
    await recorder.stop();
  });

  it('journals nothing and reads no journal when not asked to (and when no table is registered)', async () => {
    const { pool, statements } = fakePool([]);
    const recorder = new TombstoneRecorder(pool, 'a', log, undefined, () => '', true);
    await recorder.loadJournal();
    recorder.start('0-1-10');
    recorder.add(part('0-1-11', 'a', [note('u', 1, 'a')]));
    await recorder.waitUntilCovered('0-1-11', 5_000);
    expect(statements.filter((s) => /bootstrap_keys|journal_coverage/.test(s.sql))).toEqual([]);
    await recorder.stop();
  });

  it('starts when the journal set cannot be read: keeps every change, records nothing (coverage waits) until the set is read, then journals the registered tables', async () => {
    const { pool, statements } = fakePool([{ schema: 'app', table: 'u', acked: '0-1-5' }], 2);
    const recorder = new TombstoneRecorder(pool, 'a', log, undefined, () => '', true);
    await recorder.loadJournal(); // fails: logged, not thrown
    recorder.start('0-1-10');
    recorder.add(part('0-1-11', 'b', [note('u', 1, 'b'), note('other', 2, 'b')]));
    await recorder.waitUntilCovered('0-1-11', 10_000);
    const journal = statements.filter((s) => s.sql.includes('INTO drc_meta.bootstrap_keys'));
    expect([...new Set(journal.flatMap((s) => s.params.filter((p) => typeof p === 'string' && p.startsWith('[["id"'))))]).toEqual(['[["id","1"]]']);
    // Nothing was recorded before the set was read.
    const firstRead = statements.findIndex((s, i) => s.sql.includes('FROM drc_meta.bootstrap_journal') && i > 0 && statements.slice(0, i).filter((x) => x.sql.includes('FROM drc_meta.bootstrap_journal')).length === 2);
    expect(firstRead).toBeGreaterThan(0);
    expect(statements.findIndex((s) => s.sql.includes('INTO drc_meta.bootstrap_keys'))).toBeGreaterThan(firstRead);
    await recorder.stop();
  });
});
