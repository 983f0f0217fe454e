import { describe, expect, it } from 'vitest';
import type { ForeignKey } from '../db/table-keys.js';
import type { Row } from '../model/value.js';
import { LOSER_ORIGIN, type Tombstone } from '../db/tombstones.js';
import type { PipelinedSession } from '../db/pipelined-session.js';
import { childBound, comparableVersions, dataTypeOf, movedInBatch, newestWithPending, olderThanDelete, parentDeletes, parentKeyOf, parentRef, parentWrittenLater, type ParentRef } from './fk-parents.js';
import type { TableInfo, TableSource } from './table-cache.js';
import type { Op } from './types.js';

const fk = (columns: string[], refColumns: string[]): ForeignKey => ({ name: 'f', schema: 's', table: 'child', columns, refSchema: 's', refTable: 'parent', refColumns, autoUpdated: [], onUpdate: 'CASCADE', onDelete: 'CASCADE' });

describe('fk-parents: one mapping from a child image to its parent key', () => {
  it('maps the referencing columns onto the parent primary key, in the key order, whatever the order of the foreign key', () => {
    expect(parentKeyOf(fk(['pa', 'pb'], ['b', 'a']), ['a', 'b'], { id: 1, pa: 7, pb: 8 })).toEqual({ a: 8, b: 7 });
    expect(parentKeyOf(fk(['pid'], ['id']), ['id'], { id: 1 })).toEqual({ id: null });
  });

  it('no key for a foreign key on other columns than the whole primary key, or a table without one', () => {
    expect(parentKeyOf(fk(['pcode'], ['code']), ['id'], { pcode: 'x' })).toBeUndefined();
    expect(parentKeyOf(fk(['pa'], ['a']), ['a', 'b'], { pa: 1 })).toBeUndefined();
    expect(parentKeyOf(fk(['pid'], ['id']), [], { pid: 1 })).toBeUndefined();
  });

  it('reads the parent table from the table cache, never from information_schema itself', async () => {
    const parent: TableInfo = { columns: new Set(['id', 'updated_at']), primaryKey: ['id'], uniqueKeys: [], columnMeta: [{ name: 'updated_at', dataType: 'DATETIME' }] };
    const asked: string[] = [];
    const tables: TableSource = {
      get: async (schema, table) => (asked.push(`${schema}.${table}`), table === 'parent' ? parent : null),
      uniqueKeysOf: () => [],
      forget: () => undefined,
    };
    const ref = await parentRef(tables, fk(['pid'], ['id']), { id: 1, pid: 5 });
    expect(ref?.key).toEqual({ id: 5 });
    expect(ref?.info).toBe(parent);
    expect(asked).toEqual(['s.parent']);
    expect(dataTypeOf(ref?.info, 'updated_at')).toBe('datetime');
    expect(await parentRef(tables, { ...fk(['pid'], ['id']), refTable: 'gone' }, { pid: 5 })).toBeUndefined();
  });
});

describe('fk-parents: versions of two tables compare only as times', () => {
  it('times of any precision and kind compare; a counter compares with nothing', () => {
    expect(comparableVersions('datetime', 'timestamp')).toBe(true);
    expect(comparableVersions('TIMESTAMP', 'datetime')).toBe(true);
    expect(comparableVersions('bigint', 'datetime')).toBe(false);
    expect(comparableVersions('bigint', 'bigint')).toBe(false);
    expect(comparableVersions('date', 'datetime')).toBe(false);
    expect(comparableVersions(undefined, 'datetime')).toBe(false);
  });

  it('a parent version as a bound of the child column: the time as text, none from a counter', () => {
    // 2030-01-01 00:00:01.5 UTC in epoch microseconds.
    expect(childBound('1893456001500000', 'timestamp', 'datetime')).toBe('2030-01-01 00:00:01.500000');
    expect(childBound('17', 'bigint', 'datetime')).toBeUndefined();
  });

  it('a child of the same version as its parent\'s delete counts as older than the delete (one tie rule everywhere)', () => {
    expect(olderThanDelete('1893456001000000', '1893456001000000')).toBe(true);
    expect(olderThanDelete('1893456000999999', '1893456001000000')).toBe(true);
    expect(olderThanDelete('1893456001000001', '1893456001000000')).toBe(false);
    // Versions beyond 2^53 compare exactly.
    expect(olderThanDelete('9007199254740993', '9007199254740992')).toBe(false);
  });
});

describe('fk-parents: a parent\'s newest tombstone with those of the transaction not written yet', () => {
  const ref = { fk: fk(['pid'], ['id']), info: { columns: new Set(['id']), primaryKey: ['id'], uniqueKeys: [] }, key: { id: 4 } } as ParentRef;
  const stone = (id: number, version: string, origin: string, movedTo?: Row): Tombstone => ({ schema: 's', table: 'parent', key: { id }, version, origin, identity: { columns: [], types: {} } as unknown as Tombstone['identity'], ...(movedTo ? { movedTo } : {}) });

  it('a unique loser removed earlier in the batch counts when nothing is stored (the child waits for it)', () => {
    expect(newestWithPending(undefined, [stone(4, '99', LOSER_ORIGIN), stone(5, '200', 'b')], ref)).toEqual({ newest: { version: '99', loser: true } });
  });

  it('keeps the newest tombstone and, apart, the newest delete or move: a loser removed after a move hides the move', () => {
    expect(newestWithPending({ newest: { version: '300', loser: true } }, [stone(4, '100', 'b')], ref)).toEqual({ newest: { version: '300', loser: true }, deleted: { version: '100' } });
    expect(newestWithPending({ newest: { version: '100' }, deleted: { version: '100' } }, [stone(4, '300', LOSER_ORIGIN)], ref)).toEqual({ newest: { version: '300', loser: true }, deleted: { version: '100' } });
    expect(newestWithPending({ newest: { version: '100' }, deleted: { version: '100' } }, [stone(4, '200', 'c', { id: 9 })], ref)).toEqual({ newest: { version: '200', movedTo: { id: 9 } }, deleted: { version: '200', movedTo: { id: 9 } } });
    expect(newestWithPending({ newest: { version: '300' }, deleted: { version: '300' } }, [stone(4, '200', 'c')], ref)).toEqual({ newest: { version: '300' }, deleted: { version: '300' } });
    // At one version, a delete before a loser's removal.
    expect(newestWithPending(undefined, [stone(4, '50', LOSER_ORIGIN), stone(4, '50', 'b')], ref)?.newest).toEqual({ version: '50' });
  });
});

describe('fk-parents: a missing parent written later in the same target transaction', () => {
  const parentInfo = { columns: new Set(['id', 'name']), primaryKey: ['id'], uniqueKeys: [] };
  const op = (kind: 'insert' | 'update' | 'delete', table: string, image: Row) => ({ kind, info: parentInfo, key: { id: image.id }, image, incoming: { change: { schema: 's', table }, origin: 'b', txId: 't' } }) as unknown as Op;
  const ops = [op('update', 'child', { id: 15, pid: 4 }), op('delete', 'parent', { id: 4 }), op('insert', 'parent', { id: 4, name: 'n' }), op('update', 'parent', { id: 5, name: 'm' })];
  const p = (id: number) => ({ schema: 's', table: 'parent', key: { id } });

  it('finds the last write after the child that writes every missing parent (a delete does not write it)', () => {
    expect(parentWrittenLater(ops, 0, ops[0] as Op, [p(4)])).toBe(2);
    expect(parentWrittenLater(ops, 0, ops[0] as Op, [p(4), p(5)])).toBe(3);
  });

  it('none when a parent is not written later, or only before the child', () => {
    expect(parentWrittenLater(ops, 0, ops[0] as Op, [p(4), p(6)])).toBeUndefined();
    expect(parentWrittenLater(ops, 2, ops[0] as Op, [p(4)])).toBeUndefined();
    expect(parentWrittenLater(ops, 0, ops[0] as Op, [{ schema: 's', table: 'other', key: { id: 4 } }])).toBeUndefined();
  });

  it('none when the child\'s own row is written in between (a delete or an update of it must not be overtaken)', () => {
    for (const kind of ['delete', 'update'] as const) {
      const batch = [op('insert', 'child', { id: 15, pid: 4 }), op(kind, 'child', { id: 15, pid: 4 }), op('update', 'parent', { id: 4, name: 'n' })];
      expect(parentWrittenLater(batch, 0, batch[0] as Op, [p(4)])).toBeUndefined();
    }
    const afterIt = [op('insert', 'child', { id: 15, pid: 4 }), op('update', 'parent', { id: 4, name: 'n' }), op('delete', 'child', { id: 15 })];
    expect(parentWrittenLater(afterIt, 0, afterIt[0] as Op, [p(4)])).toBe(1);
  });

  it('none when the parent\'s row moves away from its key before the key is written again: the child follows the row (by the move\'s tombstone)', () => {
    const move = (from: number, to: number) => ({ ...op('insert', 'parent', { id: to, name: 'm' }), incoming: { change: { schema: 's', table: 'parent', key: { id: to }, oldKey: { id: from } }, origin: 'b', txId: 't' } }) as unknown as Op;
    const batch = [op('insert', 'child', { id: 2, pid: 1 }), move(1, 15), move(22, 1)];
    expect(parentWrittenLater(batch, 0, batch[0] as Op, [p(1)])).toBeUndefined();
    // Its new key, written later, is still waited for (a child that followed the move); a move into the key is no move away.
    expect(parentWrittenLater(batch, 0, batch[0] as Op, [p(15)])).toBe(1);
    const into = [op('insert', 'child', { id: 2, pid: 1 }), move(22, 1)];
    expect(parentWrittenLater(into, 0, into[0] as Op, [p(1)])).toBe(1);
    // Where the row went instead, in the batch's order: 15; and through a swap 1 → 17 → 1, back at 1 after the last move.
    expect(movedInBatch(batch, 0, p(1))).toEqual({ to: { id: 15 }, after: 1 });
    const swap = [op('insert', 'child', { id: 2, pid: 1 }), move(1, 17), move(27, 1), move(1, 37), move(17, 1)];
    expect(movedInBatch(swap, 0, p(1))).toEqual({ to: { id: 1 }, after: 4 });
    expect(movedInBatch(into, 0, p(1))).toBeUndefined();
  });

  it('a parent postponed itself (a grandchild): after the write its parent was put after', () => {
    const c = op('insert', 'parent', { id: 7, name: 'c' });
    const batch = [c, op('insert', 'child', { id: 15, pid: 7 }), op('update', 'other', { id: 4 })];
    expect(parentWrittenLater(batch, 1, batch[1] as Op, [p(7)], new Map([[2, [c]]]))).toBe(2);
    expect(parentWrittenLater(batch, 1, batch[1] as Op, [p(7)], new Map([[0, [c]]]))).toBeUndefined();
  });
});

describe('fk-parents parentDeletes: a parent’s tombstones read after local capture’s coverage', () => {
  const parent: TableInfo = { columns: new Set(['id', 'updated_at']), primaryKey: ['id'], uniqueKeys: [], columnMeta: [{ name: 'updated_at', dataType: 'DATETIME' }] };
  const ref: ParentRef = { fk: fk(['pid'], ['id']), info: parent, key: { id: 19 } };
  /** A session recording each round trip's statements, and the events between them. */
  function recording(events: string[]): PipelinedSession {
    return {
      roundTrip: async (statements: { sql: string }[]) => {
        events.push(statements.map((s) => (s.sql.includes('gtid_binlog_pos') ? 'position' : s.sql.includes('LOCK IN SHARE MODE') ? 'lock' : 'tombstones')).join('+'));
        return statements.map((s) => (s.sql.includes('gtid_binlog_pos') ? [{ p: '0-1-53' }] : s.sql.includes('LOCK IN SHARE MODE') ? [{ 1: 1 }] : [{ version: '100', origin: 'b' }]));
      },
    } as unknown as PipelinedSession;
  }

  it('with an applier’s coverage: the position with the locks, the wait for it, then the tombstones (a parent deleted here and written again)', async () => {
    const events: string[] = [];
    const coverage = { wait: { waitUntilCovered: async (position: string) => void events.push(`wait ${position}`) } };
    expect(await parentDeletes(recording(events), [ref], { flavor: 'mariadb', coverage })).toEqual([[{ version: '100', origin: 'b' }]]);
    expect(events).toEqual(['lock+position', 'wait 0-1-53', 'tombstones']);
  });

  it('without (a repair): one round trip, no position', async () => {
    const events: string[] = [];
    expect(await parentDeletes(recording(events), [ref], { flavor: 'mariadb', coverage: 'not-needed' })).toEqual([[{ version: '100', origin: 'b' }]]);
    expect(events).toEqual(['lock+tombstones']);
  });
});
