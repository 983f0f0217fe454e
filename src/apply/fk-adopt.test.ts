import { describe, expect, it } from 'vitest';
import { versionAsValue } from '../model/version.js';
import type { ForeignKey } from '../db/table-keys.js';
import { concurrentMove, moveStatements } from './fk-adopt.js';

describe('fk-adopt: children follow the newest concurrent key change', () => {
  it('writes a version as the version column’s value: UTC text with microseconds, or the integer', () => {
    // 2030-01-01 00:00:01.000002 UTC in epoch microseconds.
    expect(versionAsValue('1893456001000002', 'datetime')).toBe('2030-01-01 00:00:01.000002');
    expect(versionAsValue('1893456001999999', 'TIMESTAMP')).toBe('2030-01-01 00:00:01.999999');
    expect(versionAsValue('42', 'bigint')).toBe('42');
    expect(versionAsValue('42', 'varchar')).toBeUndefined();
  });

  it('a stored move is concurrent only between the incoming before-image’s version and its own', () => {
    // b moved the row as it was at 10 (before a's move at 20), at 30: concurrent.
    expect(concurrentMove('10', '20', '30')).toBe(true);
    // The stored move is newer than the incoming one: the older arrives second, nothing moves.
    expect(concurrentMove('10', '40', '30')).toBe(false);
    // The incoming change moved a row written after the stored move (its origin had seen it): not concurrent.
    expect(concurrentMove('25', '20', '30')).toBe(false);
    expect(concurrentMove(null, '20', '30')).toBe(false);
  });
});

describe('fk-adopt moveStatements: exactly the adopted children, and back only those still under the adopting row', () => {
  const fk: ForeignKey = { name: 'f', schema: 's', table: 'item', columns: ['pid'], refSchema: 's', refTable: 'parent', refColumns: ['id'], autoUpdated: ['updated_at'], onUpdate: 'CASCADE', onDelete: 'RESTRICT' };
  const moved = [{ fk, primaryKey: ['id'], keys: [{ id: 18 }, { id: 19 }] }];

  it('moves the children by primary key, keeping their stamped columns', () => {
    expect(moveStatements(moved, { id: 18 })).toEqual([{ sql: 'UPDATE `s`.`item` SET `pid` = ?, `updated_at` = `updated_at` WHERE `id` IN (?, ?)', params: [18, 18, 19] }]);
  });

  it('back: only children whose reference is still the adopting row (one a later write of the batch moved elsewhere stays there)', () => {
    expect(moveStatements(moved, { id: 22 }, { id: 18 })).toEqual([{ sql: 'UPDATE `s`.`item` SET `pid` = ?, `updated_at` = `updated_at` WHERE `id` IN (?, ?) AND `pid` <=> ?', params: [22, 18, 19, 18] }]);
  });
});
