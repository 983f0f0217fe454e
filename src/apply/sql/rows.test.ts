import { describe, expect, it } from 'vitest';
import { deleteRow, insertRows, selectByKeys, selectByUniqueKeys, updateRow } from './rows.js';

const t = { columns: ['a', 'b', 'hidden'] };

describe('row statements', () => {
  it('locks rows by point lookups, never a range, naming every column and the key each row answers', () => {
    const s = selectByKeys('s', 't', ['a', 'b'], [{ a: 1, b: 'x' }, { a: 2, b: 'y' }], t);
    expect(s.sql).toBe(
      '(SELECT 0 AS `drc key index`, `a`, `b`, `hidden` FROM `s`.`t` WHERE `a` = ? AND `b` = ? FOR UPDATE) UNION ALL (SELECT 1 AS `drc key index`, `a`, `b`, `hidden` FROM `s`.`t` WHERE `a` = ? AND `b` = ? FOR UPDATE)',
    );
    expect(s.params).toEqual([1, 'x', 2, 'y']);
  });
  it('asks the server whether a unique-key holder is the row itself', () => {
    const s = selectByUniqueKeys('s', 't', [{ columns: ['b'], values: { b: 'x' } }], t, { pk: ['a'], key: { a: 1 } });
    expect(s.sql).toBe('SELECT (`a` = ?) AS `drc is self`, `a`, `b`, `hidden` FROM `s`.`t` WHERE (`b` = ?) FOR UPDATE');
    expect(s.params).toEqual([1, 'x']);
  });
  it('binds binary values as buffers and quotes identifiers', () => {
    const s = insertRows('s', 'we`ird', [{ id: 1, bin: { $b: 'AP8=' } }]);
    expect(s.sql).toBe('INSERT INTO `s`.`we``ird` (`id`, `bin`) VALUES (?, ?)');
    expect(s.params).toEqual([1, Buffer.from([0, 255])]);
    expect(updateRow('s', 't', ['id'], { id: 1 }, { id: 1, v: 'x' }).sql).toBe('UPDATE `s`.`t` SET `id` = ?, `v` = ? WHERE `id` = ?');
    expect(deleteRow('s', 't', ['id'], { id: 1 })).toEqual({ sql: 'DELETE FROM `s`.`t` WHERE `id` = ?', params: [1] });
  });
  it('never writes generated columns', () => {
    const g = { columns: ['id', 'v', 'vv', 'vs'], generated: new Set(['vv', 'vs']) };
    const image = { id: 1, v: 2, vv: 4, vs: 6 };
    expect(insertRows('s', 't', [image, image], g)).toEqual({ sql: 'INSERT INTO `s`.`t` (`id`, `v`) VALUES (?, ?), (?, ?)', params: [1, 2, 1, 2] });
    expect(updateRow('s', 't', ['id'], { id: 1 }, image, g)).toEqual({ sql: 'UPDATE `s`.`t` SET `id` = ?, `v` = ? WHERE `id` = ?', params: [1, 2, 1] });
  });
});
