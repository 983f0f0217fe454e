import { describe, expect, it } from 'vitest';
import { canonicalKey } from '../model/types/canonical-key.js';
import { keyFromJson } from './bootstrap.js';

describe('keyFromJson', () => {
  it("reads a tombstone's stored key text back as the key row", () => {
    expect(keyFromJson(canonicalKey({ id: 13 }), ['id'])).toEqual({ id: '13' });
    expect(keyFromJson(canonicalKey({ b: 'x', a: 2 }), ['a', 'b'])).toEqual({ a: '2', b: 'x' });
    expect(keyFromJson(canonicalKey({ k: { $b: 'AAE=' } }), ['k'])).toEqual({ k: { $b: 'AAE=' } });
  });

  it('gives up on anything else: not JSON, a missing key column, an unknown part', () => {
    expect(keyFromJson('nope', ['id'])).toBeUndefined();
    expect(keyFromJson(canonicalKey({ id: 1 }), ['id', 'other'])).toBeUndefined();
    expect(keyFromJson('[["id",{"x":1}]]', ['id'])).toBeUndefined();
    expect(keyFromJson('[["id",null]]', ['id'])).toBeUndefined();
  });
});
