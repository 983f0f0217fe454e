import { describe, expect, it } from 'vitest';
import type { ShardRoute } from '../model/routing.js';
import { routingDriftCheck, routingVersionsCheck } from './doctor.js';
import { describeRouting } from './routing.js';

const ownership = { ownership: { policy: 'report' as const, shardCount: 4, routing: [{ shards: '0-1', ezone: 'a' }, { shards: '2-3', ezone: 'b' }], tables: {}, global: {} } };
const route = (shard: number, owner: string, extra: Partial<ShardRoute> = {}): ShardRoute => ({ shard, owner, state: 'owned', version: 1, prevOwner: null, movingTo: null, ...extra });

describe('drc routing and its doctor check', () => {
  it('describes an ezone: version, owners, bans, drift', () => {
    const d = describeRouting('a', [route(0, 'a'), route(1, 'a', { state: 'banned', movingTo: 'b', version: 2 }), route(2, 'b'), route(3, 'b')], ownership);
    expect(d).toMatchObject({ ezone: 'a', version: 2, bans: [{ shards: '1', owner: 'a', state: 'banned', movingTo: 'b' }], drift: [{ shards: '1', state: 'banned' }] });
    expect(d.owners.map((o) => o.shards)).toEqual(['0', '1', '2-3']);
  });

  it('warns (never fails) when the database moved away from the config, naming the ranges and the fix', () => {
    expect(routingDriftCheck('a', [route(0, 'a'), route(1, 'a'), route(2, 'b'), route(3, 'b')], ownership)).toMatchObject({ ok: true, message: 'routing version 1 matches ownership.routing' });
    const moved = routingDriftCheck('a', [route(0, 'b', { version: 3 }), route(1, 'b', { version: 3 }), route(2, 'b'), route(3, 'b')], ownership);
    expect(moved).toMatchObject({ ok: true, warning: true });
    expect(moved.message).toMatch(/routing version 3 .* differs .*: 0-1 → b — .*update ownership.routing/);
    expect(routingDriftCheck('a', [], ownership)).toMatchObject({ ok: true, message: expect.stringMatching(/not seeded yet/) });
  });

  it('fails when the ezones hold different routing versions, naming the ones behind', () => {
    expect(routingVersionsCheck(new Map([['a', 3]]))).toEqual([]);
    expect(routingVersionsCheck(new Map([['a', 3], ['b', 3]]))).toMatchObject([{ ok: true, check: 'routing_versions' }]);
    const [bad] = routingVersionsCheck(new Map([['a', 3], ['b', 1], ['c', 3]]));
    expect(bad).toMatchObject({ ezone: '*', check: 'routing_versions', ok: false });
    expect(bad!.message).toMatch(/^routing versions differ between ezones \(a 3, b 1, c 3\): b behind/);
  });
});
