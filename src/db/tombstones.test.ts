import { describe, expect, it } from 'vitest';
import { keyHash, recordTombstonesStatement } from './tombstones.js';

describe('tombstone keys', () => {
  it('stores the pinned key text and its SHA-256 (persisted: must not change across versions)', () => {
    expect(keyHash({ id: 1 }).toString('hex')).toBe('d8d524ab5ac3d6aba3c649cab3c22e92fd9d6e91c1ffde4e15a54d890fd2706b');
    const s = recordTombstonesStatement('tombstones', [{ schema: 's', table: 't', key: { id: 1 }, version: '5', origin: 'a' }]);
    expect(s?.params).toEqual(['s', 't', keyHash({ id: 1 }), '[["id","1"]]', '5', 'a']);
  });
});
