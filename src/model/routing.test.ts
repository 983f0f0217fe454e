import { describe, expect, it } from 'vitest';
import { Ownership } from './ownership.js';
import { compressRoutes, decodeRoutes, encodeRoutes, parseShardRange, RoutingBook, routeOfRow, routingDrift, seedRoutes, type ShardRoute } from './routing.js';

const route = (shard: number, owner: string, extra: Partial<ShardRoute> = {}): ShardRoute => ({ shard, owner, state: 'owned', version: 1, prevOwner: null, movingTo: null, ...extra });

describe('routing', () => {
  it('parses shard ranges and refuses reversed or malformed ones', () => {
    expect(parseShardRange('0-511')).toEqual({ from: 0, to: 511 });
    expect(parseShardRange('7')).toEqual({ from: 7, to: 7 });
    expect(parseShardRange('9-3')).toBeUndefined();
    expect(parseShardRange('a-b')).toBeUndefined();
  });

  it('seeds version 1 from the config, within the shard count', () => {
    const seed = seedRoutes([{ shards: '0-1', ezone: 'a' }, { shards: '2-9', ezone: 'b' }], 4);
    expect(seed.map((r) => [r.shard, r.owner, r.version, r.state])).toEqual([
      [0, 'a', 1, 'owned'],
      [1, 'a', 1, 'owned'],
      [2, 'b', 1, 'owned'],
      [3, 'b', 1, 'owned'],
    ]);
  });

  it('compresses shards into ranges by owner, state and destination', () => {
    const routes = [route(0, 'a'), route(1, 'a'), route(2, 'a', { state: 'banned', movingTo: 'b', version: 3 }), route(3, 'a', { state: 'banned', movingTo: 'b', version: 3 }), route(4, 'b'), route(6, 'b')];
    expect(compressRoutes(routes)).toEqual([
      { shards: '0-1', owner: 'a', state: 'owned', version: 1 },
      { shards: '2-3', owner: 'a', state: 'banned', version: 3, movingTo: 'b' },
      { shards: '4', owner: 'b', state: 'owned', version: 1 },
      { shards: '6', owner: 'b', state: 'owned', version: 1 },
    ]);
  });

  it('reports drift from the config as the ranges in force', () => {
    const configured = seedRoutes([{ shards: '0-3', ezone: 'a' }], 4);
    expect(routingDrift(configured, configured)).toEqual([]);
    const moved = [route(0, 'a'), route(1, 'a'), route(2, 'b', { version: 3, prevOwner: 'a' }), route(3, 'b', { version: 3, prevOwner: 'a' })];
    expect(routingDrift(configured, moved)).toEqual([{ shards: '2-3', owner: 'b', state: 'owned', version: 3 }]);
  });

  it('judges local writes strictly: a banned shard is nobody’s', () => {
    const book = new RoutingBook([route(0, 'a'), route(1, 'a', { state: 'banned', movingTo: 'b', version: 2 })]);
    expect(book.version).toBe(2);
    expect(book.localWrite(0, 'a')).toEqual({ ok: true });
    expect(book.localWrite(0, 'b')).toEqual({ ok: false, owner: 'a', banned: false });
    expect(book.localWrite(1, 'a')).toEqual({ ok: false, owner: 'a', banned: true });
    expect(book.localWrite(5, 'b')).toEqual({ ok: true });
  });

  it('merges a fresh read per shard keeping the higher version: a lagging read does not undo a newer change', () => {
    const book = new RoutingBook([route(0, 'a'), route(1, 'a')]);
    book.set(route(0, 'b', { state: 'banned', movingTo: 'a', version: 5 }));
    book.merge([route(0, 'a', { version: 4 }), route(1, 'b', { version: 4, prevOwner: 'a' })]);
    expect(book.route(0)).toMatchObject({ owner: 'b', state: 'banned', version: 5 });
    expect(book.route(1)).toMatchObject({ owner: 'b', version: 4 });
    book.merge([route(0, 'a', { version: 6, prevOwner: 'b' })]);
    expect(book.routes().map((r) => [r.shard, r.owner, r.version])).toEqual([
      [0, 'a', 6],
      [1, 'b', 4],
    ]);
    expect(book.version).toBe(6);
  });

  it('judges incoming changes without an origin verdict by the owner here only (no excuse for a previous owner or a destination)', () => {
    const book = new RoutingBook([route(0, 'b', { version: 3, prevOwner: 'a' }), route(1, 'a', { state: 'banned', movingTo: 'b', version: 2, prevOwner: 'a' }), route(2, 'a')]);
    expect(book.violation(0, 'a')).toEqual({ owner: 'b' });
    expect(book.violation(0, 'b')).toBeUndefined();
    expect(book.violation(1, 'b')).toEqual({ owner: 'a' });
    expect(book.violation(1, 'a')).toBeUndefined();
    expect(book.violation(2, 'b')).toEqual({ owner: 'a' });
  });

  it('reads routing rows as the database and the binlog give them', () => {
    expect(routeOfRow({ topology: 'drc', shard: 3, owner: 'a', state: 'banned', version: '7', prev_owner: 'a', moving_to: 'b' })).toEqual(route(3, 'a', { state: 'banned', version: 7, prevOwner: 'a', movingTo: 'b' }));
    expect(routeOfRow({ shard: 3 })).toBeUndefined();
  });

  it('routes hash shards by the routing in force once it holds rows, by the config before', () => {
    const rules = { policy: 'report' as const, shardCount: 4, routing: [{ shards: '0-3', ezone: 'a' }], tables: { 'app.o': { function: 'hash' as const, column: 'u' } }, global: {} };
    const book = new RoutingBook();
    const own = new Ownership(rules, { routing: book, mode: 'local' });
    const row = { u: 42 };
    expect(own.ownerOf('app.o', row)).toBe('a');
    const shard = own.shardOfRow('app.o', row)!;
    book.replace([0, 1, 2, 3].map((s) => route(s, s === shard ? 'b' : 'a', { version: 2 })));
    expect(own.ownerOf('app.o', row)).toBe('b');
    expect(own.violates('app.o', row, 'a')).toEqual({ owner: 'b' });
    expect(own.violates('app.o', row, 'b')).toBeUndefined();
  });
  it('ships the whole routing as runs of equal rows and reads it back exactly; refuses anything else', () => {
    const routes = [
      ...[0, 1, 2].map((s) => route(s, 'a', { version: 3, prevOwner: 'b' })),
      route(3, 'a', { state: 'banned', version: 4, prevOwner: 'a', movingTo: 'b' }),
      ...[4, 5].map((s) => route(s, 'b')),
      route(7, 'b'),
    ];
    const text = encodeRoutes([...routes].reverse());
    expect(JSON.parse(text)).toEqual([
      [0, 2, 'a', 'owned', 3, 'b', null],
      [3, 3, 'a', 'banned', 4, 'a', 'b'],
      [4, 5, 'b', 'owned', 1, null, null],
      [7, 7, 'b', 'owned', 1, null, null],
    ]);
    expect(decodeRoutes(text)).toEqual(routes);
    expect(decodeRoutes(encodeRoutes([]))).toEqual([]);
    for (const bad of ['', 'nope', '{}', '[[0,1]]', '[[2,1,"a","owned",1,null,null]]', '[[0,1,"a","gone",1,null,null]]', '[[0,1,"",null,1,null,null]]', '[[0,1,"a","owned",1.5,null,null]]', '[[0,1000000,"a","owned",1,null,null]]']) {
      expect(decodeRoutes(bad), bad).toBeUndefined();
    }
  });
});
