import { describe, expect, it } from 'vitest';
import type { RowChange } from '../model/change.js';
import { overlaps, writeSetOf } from './write-set.js';
import { marker, position } from './sql/meta.js';
import { deleteRow, insertRows, selectByKeys, updateRow } from './sql/rows.js';

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

describe('planner', () => {
  it('locks rows by point lookups, never a range', () => {
    const s = selectByKeys('s', 't', ['a', 'b'], [{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
    expect(s.sql).toBe('(SELECT * FROM `s`.`t` WHERE `a` = ? AND `b` = ? FOR UPDATE) UNION ALL (SELECT * FROM `s`.`t` WHERE `a` = ? AND `b` = ? FOR UPDATE)');
    expect(s.params).toEqual([1, 'x', 2, 'y']);
  });
  it('binds binary values as buffers and quotes identifiers', () => {
    const s = insertRows('s', 'we`ird', [{ id: 1, bin: { $b: 'AP8=' } }]);
    expect(s.sql).toBe('INSERT INTO `s`.`we``ird` (`id`, `bin`) VALUES (?, ?)');
    expect(s.params).toEqual([1, Buffer.from([0, 255])]);
    expect(updateRow('s', 't', ['id'], { id: 1 }, { id: 1, v: 'x' }).sql).toBe('UPDATE `s`.`t` SET `id` = ?, `v` = ? WHERE `id` = ?');
    expect(deleteRow('s', 't', ['id'], { id: 1 })).toEqual({ sql: 'DELETE FROM `s`.`t` WHERE `id` = ?', params: [1] });
  });
  it('writes upserts per flavour (MariaDB VALUES(), MySQL row alias)', () => {
    expect(marker('mariadb', 3, 'b', 'tx', 'pos').sql).toContain('ON DUPLICATE KEY UPDATE origin = VALUES(origin)');
    expect(marker('mysql', 3, 'b', 'tx', 'pos').sql).toContain(' AS new ON DUPLICATE KEY UPDATE origin = new.origin');
    expect(marker('mariadb', 3, 'b', 'tx', 'pos').sql).toContain('n = n + 1');
    expect(position('mysql', 'b', 0, '42', 'tx', 'pos').params).toEqual(['b', 0, '42', 'tx', 'pos']);
  });
});
