import { describe, expect, it } from 'vitest';
import type { ShardRoute } from '../model/routing.js';
import { newestCopies, planMove, reached, unfinished, type SwitchoverRecord } from './switchover-plan.js';

const route = (shard: number, owner: string, extra: Partial<ShardRoute> = {}): ShardRoute => ({ shard, owner, state: 'owned', version: 1, prevOwner: null, movingTo: null, ...extra });
const routes = [route(0, 'a'), route(1, 'a'), route(2, 'b'), route(3, 'b', { state: 'banned', movingTo: 'a' })];
const rec = (id: string, state: SwitchoverRecord['state']): SwitchoverRecord => ({ id, from: 0, to: 1, fromEzone: 'a', toEzone: 'b', state, banVersion: null, flipVersion: null, reason: null });

describe('switchover plan', () => {
  it('moves shards of one owner', () => {
    expect(planMove(routes, { from: 0, to: 1 }, 'b', 4)).toEqual({ kind: 'move', fromEzone: 'a' });
    expect(planMove(routes, { from: 0, to: 1 }, 'a', 4)).toMatchObject({ kind: 'noop' });
  });

  it('refuses mixed owners, banned shards, shards out of range or without owner', () => {
    expect(planMove(routes, { from: 1, to: 2 }, 'c', 4)).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/several owners \(a: 1, b: 1\)/) });
    expect(planMove(routes, { from: 3, to: 3 }, 'b', 4)).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/write ban.*--resume/) });
    expect(planMove(routes, { from: 0, to: 4 }, 'b', 4)).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/shards go from 0 to 3/) });
    expect(planMove(routes.slice(1), { from: 0, to: 0 }, 'b', 4)).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/shard 0 has no owner/) });
  });

  it('orders states: the most advanced copy of a switchover wins, finished ones are not open', () => {
    expect(newestCopies([rec('x', 'banned'), rec('x', 'fenced'), rec('x', 'started')])).toEqual([rec('x', 'fenced')]);
    expect(unfinished([rec('x', 'banned'), rec('x', 'done'), rec('y', 'flipped')])).toEqual([rec('y', 'flipped')]);
    expect(reached('fenced', 'banned')).toBe(true);
    expect(reached('banned', 'fenced')).toBe(false);
    expect(reached('rolled-back', 'fenced')).toBe(true);
    expect(reached('rolled-back', 'flipped')).toBe(false);
  });
});
