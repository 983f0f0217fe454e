import { describe, expect, it } from 'vitest';
import { RecordingConnection } from '../db/recording-session.js';
import { PipelinedSession } from '../db/pipelined-session.js';
import type { RowChange } from '../model/change.js';
import { rowKey } from './decide.js';
import { RowStateLoader } from './row-state.js';
import type { TableInfo } from './table-cache.js';

const info: TableInfo = { columns: new Set(['id', 'who', 'hidden']), primaryKey: ['id'], uniqueKeys: [] };
const insert = (id: string): RowChange => ({ schema: 's', table: 'c', op: 'insert', key: { id }, after: { id, who: 'x', hidden: 'h' } });

describe('RowStateLoader', () => {
  it('maps each row to the incoming key the server matched it to, not to its own spelling (issue 12: collations)', async () => {
    // Under a _ci, PAD SPACE collation the server answers 'alice' and 'ALICE ' with the row stored as 'Alice'; 'bob' with nothing.
    const conn = new RecordingConnection((call) => {
      if (!call.sql.startsWith('(SELECT 0 AS `drc key index`, `id`, `who`, `hidden` FROM `s`.`c`')) return [];
      return [
        { 'drc key index': 0, id: 'Alice', who: 'a', hidden: 'h' },
        { 'drc key index': 2, id: 'Alice', who: 'a', hidden: 'h' },
      ];
    });
    const batch = ['alice', 'bob', 'ALICE '].map((id) => ({ change: insert(id), origin: 'b', txId: 't' }));
    const state = await new RowStateLoader('mariadb', 'not-needed').load(new PipelinedSession(conn), batch, new Map([['s.c', info]]));
    const stored = rowKey('s.c', { id: 'Alice' });
    expect(state.identities.get(rowKey('s.c', { id: 'alice' }))).toBe(stored);
    expect(state.identities.get(rowKey('s.c', { id: 'ALICE ' }))).toBe(stored);
    expect(state.identities.get(rowKey('s.c', { id: 'bob' }))).toBe(rowKey('s.c', { id: 'bob' }));
    expect(state.rows.get(stored)).toEqual({ id: 'Alice', who: 'a', hidden: 'h' }); // the index column is not part of the row
    expect(state.rows.get(rowKey('s.c', { id: 'bob' }))).toBeNull();
  });
});
