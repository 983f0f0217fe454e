import type mysql from 'mysql2/promise';
import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '../ops/logger.js';
import { RoutingTracker } from './routing-tracker.js';
import { StartPoint } from './start-point.js';

/** A pool whose capture_start holds `recorded` (SELECT) and whose DELETEs fail `deleteFailures` times. */
function fakePool(recorded: { position: string } | undefined, deleteFailures = 0) {
  const deletes: unknown[] = [];
  let failures = deleteFailures;
  const query = vi.fn(async (sql: string, params: unknown[]) => {
    if (sql.startsWith('SELECT')) return [recorded ? [{ position: recorded.position, routing: null, at: '2026-12-03 10:00:00.000000', age: 5 }] : []];
    if (sql.startsWith('DELETE')) {
      if (failures-- > 0) throw new Error('connection lost');
      deletes.push(params);
      return [{ affectedRows: 1 }];
    }
    throw new Error(`unexpected ${sql}`);
  });
  return { pool: { query } as unknown as mysql.Pool, deletes };
}
const log = () => ({ info: vi.fn(), warn: vi.fn() }) as unknown as Logger;
const startPoint = (pool: mysql.Pool) => {
  const l = log();
  return new StartPoint(pool, 't1.a.changes', new RoutingTracker(undefined, 't1', l), l);
};

describe('StartPoint', () => {
  it('starts at the recorded first start while the topic holds no commit; the way out of a purged start names the record', async () => {
    const { pool, deletes } = fakePool({ position: '1-1-40' });
    const p = startPoint(pool);
    expect(await p.find(undefined)).toBe('1-1-40');
    const gone = p.gone('1-1-40', new Error('1236'));
    expect(gone.code).toBe('DRC_BINLOG_POSITION_GONE');
    expect(gone.message).toContain("DELETE FROM drc_meta.capture_start WHERE topic = 't1.a.changes'");
    expect(deletes).toEqual([]); // kept until the topic holds a commit
  });

  it('after the first commit: the record is forgotten once (a failed delete is tried again at the next commit), the start is Kafka’s', async () => {
    const { pool, deletes } = fakePool({ position: '1-1-40' }, 1);
    const p = startPoint(pool);
    await p.find(undefined);
    await p.committed(); // the delete fails: retried
    expect(p.gone('1-1-41', undefined).message).toContain('the resume point on t1.a.changes is older than what the binlog keeps');
    await p.committed();
    await p.committed();
    expect(deletes).toEqual([['t1.a.changes']]);
  });
});
