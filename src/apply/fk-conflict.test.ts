import { describe, expect, it } from 'vitest';
import type { ForeignKey } from '../db/table-keys.js';
import { childOutcome, followStatements, orphanStatements, referencing, refusing, withNullReferences } from './fk-conflict.js';

const fk = (name: string, onDelete: ForeignKey['onDelete'], onUpdate: ForeignKey['onUpdate'] = 'CASCADE', columns = ['pid']): ForeignKey => ({
  name,
  schema: 's',
  table: 'child',
  columns,
  refSchema: 's',
  refTable: 'parent',
  refColumns: columns.map(() => 'id'),
  autoUpdated: [],
  onUpdate,
  onDelete,
});

describe('foreign-key conflicts: a parent delete wins over concurrent child writes', () => {
  it('removes a child whose missing parent cascades, restricts or takes no action; nulls its references when every missing parent sets NULL', () => {
    expect(childOutcome([fk('a', 'CASCADE')])).toBe('remove');
    expect(childOutcome([fk('a', 'RESTRICT')])).toBe('remove');
    expect(childOutcome([fk('a', 'NO ACTION')])).toBe('remove');
    expect(childOutcome([fk('a', 'SET NULL')])).toBe('set-null');
    expect(childOutcome([fk('a', 'SET NULL'), fk('b', 'CASCADE', 'CASCADE', ['qid'])])).toBe('remove');
    expect(withNullReferences({ id: 1, pid: 7, qid: 8 }, [fk('a', 'SET NULL')])).toEqual({ id: 1, pid: null, qid: 8 });
  });

  it('a NULL reference needs no parent; only RESTRICT / NO ACTION keys refuse', () => {
    expect(referencing([fk('a', 'CASCADE'), fk('b', 'CASCADE', 'CASCADE', ['qid'])], { id: 1, pid: null, qid: 3 }).map((f) => f.name)).toEqual(['b']);
    const keys = [fk('c', 'CASCADE', 'RESTRICT'), fk('r', 'RESTRICT', 'CASCADE'), fk('n', 'NO ACTION', 'NO ACTION'), fk('s', 'SET NULL', 'SET NULL')];
    expect(refusing(keys, 'delete').map((f) => f.name)).toEqual(['r', 'n']);
    expect(refusing(keys, 'update').map((f) => f.name)).toEqual(['c', 'n']);
  });
});

describe('children following a key change whose old row stays here', () => {
  it('move as each key’s ON UPDATE action moved them in the origin: CASCADE to the new values, SET NULL to NULL, nothing for RESTRICT or unchanged values', () => {
    const keys = [fk('c', 'CASCADE', 'CASCADE'), fk('n', 'CASCADE', 'SET NULL'), fk('r', 'CASCADE', 'RESTRICT')];
    const out = followStatements(keys, { id: 5, v: 'a' }, { id: 500, v: 'b' });
    expect(out).toEqual([
      { sql: 'UPDATE `s`.`child` SET `pid` = ? WHERE `pid` <=> ?', params: [500, 5] },
      { sql: 'UPDATE `s`.`child` SET `pid` = ? WHERE `pid` <=> ?', params: [null, 5] },
    ]);
    expect(followStatements(keys, { id: 5, v: 'a' }, { id: 5, v: 'b' })).toEqual([]);
  });

  it('leave the child columns the server sets on UPDATE alone, as the origin\'s cascade did (the child keeps its version)', () => {
    const keys = [{ ...fk('c', 'CASCADE', 'CASCADE'), autoUpdated: ['updated_at'] }];
    expect(followStatements(keys, { id: 5 }, { id: 6 })).toEqual([{ sql: 'UPDATE `s`.`child` SET `pid` = ?, `updated_at` = `updated_at` WHERE `pid` <=> ?', params: [6, 5] }]);
    // Only the children older than a bound move (fk-adopt.ts: those an older concurrent key change took along).
    expect(followStatements(keys, { id: 5 }, { id: 6 }, { column: 'updated_at', value: '2030-01-01 00:00:00.000000' })).toEqual([
      { sql: 'UPDATE `s`.`child` SET `pid` = ?, `updated_at` = `updated_at` WHERE `pid` <=> ? AND `updated_at` < ?', params: [6, 5, '2030-01-01 00:00:00.000000'] },
    ]);
  });

  it('a parent delete that lost to a newer row: its children older than the delete go as ON DELETE says (deleted, or their references NULL)', () => {
    const bound = { column: 'updated_at', value: '2026-12-01 00:00:00.000000' };
    const keys = [{ ...fk('c', 'CASCADE'), autoUpdated: ['updated_at'] }, { ...fk('r', 'RESTRICT'), autoUpdated: ['updated_at'] }, { ...fk('n', 'SET NULL'), autoUpdated: ['updated_at'] }, fk('u', 'CASCADE')];
    expect(orphanStatements(keys, { id: 5 }, bound)).toEqual([
      { sql: 'DELETE FROM `s`.`child` WHERE `pid` <=> ? AND `updated_at` <= ?', params: [5, '2026-12-01 00:00:00.000000'] },
      { sql: 'DELETE FROM `s`.`child` WHERE `pid` <=> ? AND `updated_at` <= ?', params: [5, '2026-12-01 00:00:00.000000'] },
      { sql: 'UPDATE `s`.`child` SET `pid` = NULL, `updated_at` = `updated_at` WHERE `pid` <=> ? AND `updated_at` <= ?', params: [5, '2026-12-01 00:00:00.000000'] },
      // A child table without that version column: every child goes, as the cascade did.
      { sql: 'DELETE FROM `s`.`child` WHERE `pid` <=> ?', params: [5] },
    ]);
  });
});
