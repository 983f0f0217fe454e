import { describe, expect, it } from 'vitest';
import type { RowChange } from '../model/change.js';
import { overlaps, writeSetOf } from './write-set.js';

const change = (id: number, email: string | null, op: RowChange['op'] = 'insert'): RowChange => ({
  schema: 's',
  table: 'u',
  op,
  key: { id },
  ...(op === 'delete' ? { before: { id, email } } : { after: { id, email } }),
});
const uks = (t: string) => (t === 's.u' ? [['email']] : []);

describe('write sets', () => {
  it('overlap on the same primary key', () => {
    expect(overlaps(writeSetOf([change(1, 'a')], uks), writeSetOf([change(1, 'b', 'delete')], uks))).toBe(true);
  });
  it('overlap on the same unique-key value under different primary keys', () => {
    expect(overlaps(writeSetOf([change(1, 'x@e')], uks), writeSetOf([change(2, 'x@e')], uks))).toBe(true);
  });
  it('do not overlap otherwise, and NULL unique values never collide', () => {
    expect(overlaps(writeSetOf([change(1, 'a')], uks), writeSetOf([change(2, 'b')], uks))).toBe(false);
    expect(overlaps(writeSetOf([change(1, null)], uks), writeSetOf([change(2, null)], uks))).toBe(false);
  });
});
