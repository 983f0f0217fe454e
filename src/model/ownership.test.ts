import { describe, expect, it, vi } from 'vitest';
import { Ownership, shardOf, type OwnershipRules } from './ownership.js';
import { RoutingBook } from './routing.js';

const rules: OwnershipRules = {
  policy: 'reject',
  shardCount: 8,
  routing: [
    { shards: '0-3', ezone: 'a' },
    { shards: '4-7', ezone: 'b' },
  ],
  tables: {
    'app.orders': { function: 'hash', column: 'user_id' },
    'app.accounts': { function: 'range', column: 'id', ranges: [{ from: 0, to: 100, ezone: 'a' }, { from: 100, to: 200, ezone: 'b' }] },
  },
  global: { 'app.settings': 'a' },
};
const own = new Ownership(rules);

describe('ownership', () => {
  it('hashes a shard key the same way every time (CRC-32 of its text)', () => {
    expect(shardOf(42, 8)).toBe(shardOf('42', 8));
    // Pinned: changing the shard function would move rows between owners.
    expect(shardOf(42, 1024)).toBe(841265288 % 1024);
    const owner = own.ownerOf('app.orders', { user_id: 42 });
    expect(owner).toBe(shardOf(42, 8) <= 3 ? 'a' : 'b');
  });

  it('maps ranges (inclusive from, exclusive to) and global tables', () => {
    expect(own.ownerOf('app.accounts', { id: 99 })).toBe('a');
    expect(own.ownerOf('app.accounts', { id: 100 })).toBe('b');
    expect(own.ownerOf('app.accounts', { id: 500 })).toBeUndefined();
    expect(own.ownerOf('app.settings', { k: 'x' })).toBe('a');
    expect(own.ownerOf('app.other', { id: 1 })).toBeUndefined();
  });

  it('looks for forced-late rows only when a forced switchover is known (no shard computed per row otherwise)', () => {
    const book = new RoutingBook([{ shard: 0, owner: 'b', state: 'owned', version: 3, prevOwner: 'a', movingTo: null }]);
    const own = new Ownership(rules, { routing: book, mode: 'incoming' });
    const shardOfRow = vi.spyOn(own, 'shardOfRow');
    expect(own.lateAfterForce('app.orders', { user_id: 1 }, 'a', 2)).toBeUndefined();
    expect(shardOfRow).not.toHaveBeenCalled();
    book.setForced([{ switchover: 'so-1', from: 0, to: 7, fromEzone: 'a', toEzone: 'b', version: 3 }]);
    expect(own.lateAfterForce('app.orders', { user_id: 1 }, 'a', 2)).toMatchObject({ switchover: 'so-1' });
    expect(shardOfRow).toHaveBeenCalledOnce();
  });

  it('reports a violation only when an owner exists and differs from the writer', () => {
    expect(own.violates('app.settings', { k: 'x' }, 'b')).toEqual({ owner: 'a' });
    expect(own.violates('app.settings', { k: 'x' }, 'a')).toBeUndefined();
    expect(own.violates('app.accounts', { id: null }, 'b')).toBeUndefined();
    expect(own.policy).toBe('reject');
  });
});
