import { describe, expect, it } from 'vitest';
import { deleteRow, insertRows, selectByKeys, updateRow } from './rows.js';

describe('row statements', () => {
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
});
