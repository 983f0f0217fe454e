import { describe, expect, it } from 'vitest';
import { shardOf } from '../model/ownership.js';
import { RoutingGuard, routingChangeOf } from './routing-guard.js';

const ownership = { shardCount: 4, tables: { 'app.orders': { function: 'hash' as const, column: 'user_id' } }, global: { 'app.settings': 'a' } };
const row = (shard: number, owner: string, state = 'owned', version = 1) => ({ shard, owner, state, version, prev_owner: null, moving_to: null });
/** A pool answering drc_meta.routing reads with `rows` (asserting the topology asked for). */
const pool = (rows: unknown[]) => ({
  query: (async (sql: string, params: unknown[]) => {
    expect(sql).toContain('FROM drc_meta.routing WHERE topology = ?');
    expect(params).toEqual(['t1']);
    return [rows, []];
  }) as never,
});

describe('RoutingGuard', () => {
  it('answers owner and writability by DRC’s hash, and follows routing changes', async () => {
    const guard = await RoutingGuard.open({ pool: pool([row(0, 'a'), row(1, 'a'), row(2, 'b'), row(3, 'b')]), ezone: 'a', topology: 't1', ownership, refreshMs: 0 });
    const user = [1, 2, 3, 4, 5, 6, 7, 8].find((u) => shardOf(u, 4) === 2)!;
    expect(guard.check('app.orders', { user_id: user })).toEqual({ writable: false, owner: 'b', banned: false, shard: 2, version: 1 });
    expect(guard.checkShard(0)).toMatchObject({ writable: true, owner: 'a' });
    expect(guard.check('app.settings', { k: 'x' })).toMatchObject({ writable: true, owner: 'a' });
    expect(guard.check('app.other', { id: 1 })).toMatchObject({ writable: true });

    guard.applyChange({ version: 2, shards: '0-1', owner: 'a', state: 'banned', movingTo: 'b' });
    expect(guard.checkShard(0)).toEqual({ writable: false, owner: 'a', banned: true, shard: 0, version: 2 });
    guard.applyChange({ version: 3, shards: '0-1', owner: 'b', state: 'owned' });
    guard.applyChange({ version: 2, shards: '0-1', owner: 'a', state: 'banned', movingTo: 'b' }); // late, older: ignored
    expect(guard.checkShard(1)).toMatchObject({ writable: false, owner: 'b', banned: false, version: 3 });
    expect(guard.version).toBe(3);
    await guard.refresh(); // drc_meta lagging at version 1: the newer changes stay
    expect(guard.checkShard(1)).toMatchObject({ owner: 'b', version: 3 });
    expect(guard.checkShard(2)).toMatchObject({ owner: 'b', banned: false });
    await guard.close();
  });

  it('reads the routing changes of <prefix>.routing and refuses anything else', () => {
    const event = { switchover: 'so-1', step: 'banned', version: 4, shards: '0-7', owner: 'a', state: 'banned', movingTo: 'b', writtenIn: 'a', at: '2026-12-01T00:00:00Z' };
    expect(routingChangeOf(Buffer.from(JSON.stringify(event)))).toEqual({ version: 4, shards: '0-7', owner: 'a', state: 'banned', movingTo: 'b' });
    expect(routingChangeOf(Buffer.from(JSON.stringify({ version: 5, shards: '3', owner: 'b', state: 'owned' })))).toEqual({ version: 5, shards: '3', owner: 'b', state: 'owned' });
    for (const bad of [null, 'x', '[]', '{}', JSON.stringify({ ...event, version: 1.5 }), JSON.stringify({ ...event, shards: '7-0' }), JSON.stringify({ ...event, owner: '' }), JSON.stringify({ ...event, state: 'gone' }), JSON.stringify({ ...event, movingTo: 3 })]) {
      expect(routingChangeOf(bad === null ? null : Buffer.from(bad)), String(bad)).toBeUndefined();
    }
  });
});
