import { describe, expect, it, vi } from 'vitest';
import { encodeRoutes, packRoutes, RoutingBook, unpackRoutes, type ShardRoute } from '../model/routing.js';
import type { Logger } from '../ops/logger.js';
import { ROUTING_HEADER_MAX_BYTES } from './shipper.js';
import { RoutingTracker } from './routing-tracker.js';

const route = (shard: number, owner: string, version = 1, extra: Partial<ShardRoute> = {}): ShardRoute => ({ shard, owner, state: 'owned', version, prevOwner: null, movingTo: null, ...extra });
const routingRow = (shard: number, owner: string, version: number, topology = 't1') => ({ topology, shard, owner, state: 'owned', version, prev_owner: 'a', moving_to: null });
const logger = () => ({ warn: vi.fn(), info: vi.fn() });
const tracker = (book: RoutingBook | undefined, log = logger()) => ({ t: new RoutingTracker(book, 't1', log as unknown as Logger), log });

describe('RoutingTracker', () => {
  it('follows the routing rows of its topology only, in binlog order; ignores rows that are no route', () => {
    const book = new RoutingBook([route(0, 'a'), route(1, 'a')]);
    const { t } = tracker(book);
    const before = t.current()!;
    t.onRow(routingRow(0, 'b', 2, 'other'));
    t.onRow({ topology: 't1', shard: 1 }); // no owner: not a route
    expect(t.current()).toBe(before);
    t.onRow(routingRow(0, 'b', 2));
    expect(book.route(0)).toMatchObject({ owner: 'b', version: 2 });
    expect(unpackRoutes(t.current()!)!.map((r) => [r.shard, r.owner, r.version])).toEqual([
      [0, 'b', 2],
      [1, 'a', 1],
    ]);
  });

  it('resumes with the routing shipped with the resume point, not the routing in force now', () => {
    const shipped = packRoutes([route(0, 'a'), route(1, 'a')]);
    const book = new RoutingBook([route(0, 'b', 3), route(1, 'b', 3)]);
    const { t, log } = tracker(book);
    t.resume(shipped, '0-1-5');
    expect(book.routes().map((r) => [r.owner, r.version])).toEqual([
      ['a', 1],
      ['a', 1],
    ]);
    expect(t.current()).toBe(shipped);
    expect(log.info).toHaveBeenCalledWith({ position: '0-1-5', routingVersion: 1 }, expect.stringMatching(/resumes with the routing in force at its resume point/));
    // The plain text builds before packing shipped reads back too.
    t.resume(encodeRoutes([route(0, 'c', 4)]), '0-1-6');
    expect(book.routes().map((r) => r.owner)).toEqual(['c']);
  });

  it('keeps the routing in hand, and says so, when the resume point has no routing or one that does not decode', () => {
    const book = new RoutingBook([route(0, 'b', 3)]);
    const { t, log } = tracker(book);
    t.resume(undefined, '0-1-5');
    expect(log.warn).toHaveBeenLastCalledWith({ position: '0-1-5', routingVersion: 3 }, expect.stringMatching(/carries no routing/));
    for (const bad of ['not json', 'z:not-deflate', `z:${Buffer.from('[[1]]').toString('base64')}`]) {
      t.resume(bad, '0-1-6');
      expect(log.warn).toHaveBeenLastCalledWith({ position: '0-1-6' }, expect.stringMatching(/does not decode/));
    }
    expect(book.routes()).toEqual([route(0, 'b', 3)]);
    expect(log.warn).toHaveBeenCalledTimes(4);
  });

  it('does nothing without a book (the config rules judge)', () => {
    const { t, log } = tracker(undefined);
    t.onRow(routingRow(0, 'b', 2));
    t.resume(undefined, '0-1-5');
    t.resume('x', '0-1-5');
    expect(t.current()).toBeUndefined();
    expect(log.warn).not.toHaveBeenCalled();
  });

  it('packs a routing of 200 separate ranges (200 switchovers) into a header that fits, and reads it back exactly', () => {
    const ezones = ['east', 'west', 'north'];
    const routes = [...Array(1024).keys()].map((shard) => {
      const range = Math.floor(shard / 5);
      return range < 200 ? route(shard, ezones[range % 3]!, 2 + range, { prevOwner: ezones[(range + 1) % 3]! }) : route(shard, 'east');
    });
    const packed = packRoutes(routes);
    expect(Buffer.byteLength(encodeRoutes(routes))).toBeGreaterThan(ROUTING_HEADER_MAX_BYTES);
    expect(Buffer.byteLength(packed)).toBeLessThanOrEqual(ROUTING_HEADER_MAX_BYTES);
    expect(unpackRoutes(packed)).toEqual(routes);
  });
});
