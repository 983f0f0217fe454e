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

describe('write sets under collations (issue 12)', () => {
  const text = (id: string, email: string): RowChange => ({ schema: 's', table: 'u', op: 'insert', key: { id }, after: { id, email } });
  it('overlap on keys a case-, accent-insensitive or PAD SPACE collation holds equal', () => {
    expect(overlaps(writeSetOf([text('alice', 'p')], uks), writeSetOf([text('Alice', 'q')], uks))).toBe(true);
    expect(overlaps(writeSetOf([text('é', 'p')], uks), writeSetOf([text('e', 'q')], uks))).toBe(true);
    expect(overlaps(writeSetOf([text('x', 'p')], uks), writeSetOf([text('x ', 'q')], uks))).toBe(true);
    expect(overlaps(writeSetOf([text('1', 'Bob@E')], uks), writeSetOf([text('2', 'bob@e')], uks))).toBe(true);
  });
  it('overlap on values that share the prefix a prefix key holds (`UNIQUE KEY (email(4))`), not on values differing within it', () => {
    const prefixes = (t: string) => (t === 's.u' ? [{ email: 4 }] : undefined);
    const set = (id: number, email: string) => writeSetOf([change(id, email)], uks, undefined, prefixes);
    expect(overlaps(set(1, 'abcdX'), set(2, 'ABCDy'))).toBe(true);
    expect(overlaps(set(1, 'mn'), set(2, 'MN  x'))).toBe(true); // PAD SPACE within the prefix
    expect(overlaps(set(1, '😀😀😀😀a'), set(2, '😀😀😀😀b'))).toBe(true); // characters, not UTF-16 units
    expect(overlaps(set(1, 'abcdX'), set(2, 'abceX'))).toBe(false);
    expect(overlaps(writeSetOf([change(1, 'abcdX')], uks), writeSetOf([change(2, 'abcdY')], uks))).toBe(false); // no prefix: whole values
  });

  it('keep binary values exact', () => {
    const bin = (b: string): RowChange => ({ schema: 's', table: 'b', op: 'insert', key: { id: { $b: b } }, after: { id: { $b: b } } });
    expect(overlaps(writeSetOf([bin('YQ==')], uks), writeSetOf([bin('QQ==')], uks))).toBe(false);
  });
});

describe('write sets with foreign keys and key changes (issue 13)', () => {
  const fk = { name: 'fk', schema: 's', table: 'child', columns: ['pid'], refSchema: 's', refTable: 'parent', refColumns: ['id'], onUpdate: 'CASCADE' as const, onDelete: 'CASCADE' as const, autoUpdated: [] };
  const fks = (t: string) => (t === 's.child' ? { outgoing: [fk], incoming: [] } : t === 's.parent' ? { outgoing: [], incoming: [fk] } : { outgoing: [], incoming: [] });
  const none = () => [];
  const parent = (id: number, op: RowChange['op'] = 'insert'): RowChange => ({ schema: 's', table: 'parent', op, key: { id }, ...(op === 'delete' ? { before: { id } } : { after: { id } }) });
  const child = (id: number, pid: number | null): RowChange => ({ schema: 's', table: 'child', op: 'insert', key: { id }, after: { id, pid } });

  it('a child overlaps its parent (insert and delete), not another parent; a NULL reference overlaps nothing', () => {
    expect(overlaps(writeSetOf([parent(1)], none, fks), writeSetOf([child(10, 1)], none, fks))).toBe(true);
    expect(overlaps(writeSetOf([parent(1, 'delete')], none, fks), writeSetOf([child(10, 1)], none, fks))).toBe(true);
    expect(overlaps(writeSetOf([parent(2)], none, fks), writeSetOf([child(10, 1)], none, fks))).toBe(false);
    expect(overlaps(writeSetOf([parent(1)], none, fks), writeSetOf([child(10, null)], none, fks))).toBe(false);
    // Without foreign-key metadata the two would run side by side.
    expect(overlaps(writeSetOf([parent(1)], none), writeSetOf([child(10, 1)], none))).toBe(false);
  });

  it('a child moved to another parent overlaps both parents', () => {
    const moved: RowChange = { schema: 's', table: 'child', op: 'update', key: { id: 10 }, before: { id: 10, pid: 1 }, after: { id: 10, pid: 2 } };
    expect(overlaps(writeSetOf([moved], none, fks), writeSetOf([parent(1)], none, fks))).toBe(true);
    expect(overlaps(writeSetOf([moved], none, fks), writeSetOf([parent(2)], none, fks))).toBe(true);
  });

  it('a primary-key change overlaps both its old and its new key', () => {
    const moved: RowChange = { schema: 's', table: 'parent', op: 'update', key: { id: 2 }, oldKey: { id: 1 }, before: { id: 1 }, after: { id: 2 } };
    expect(overlaps(writeSetOf([moved], none), writeSetOf([parent(1)], none))).toBe(true);
    expect(overlaps(writeSetOf([moved], none), writeSetOf([parent(2)], none))).toBe(true);
    expect(overlaps(writeSetOf([moved], none, fks), writeSetOf([child(10, 1)], none, fks))).toBe(true);
  });
});
