import { describe, expect, it } from 'vitest';
import type { Row } from '../model/value.js';
import type { TableInfo } from './table-cache.js';
import type { Op } from './types.js';
import { writeStatements } from './write-statements.js';

const info = { columns: new Set(['id', 'name']), primaryKey: ['id'], uniqueKeys: [['name']] } as unknown as TableInfo;
const op = (kind: Op['kind'], image: Row, extra: Partial<Op> = {}): Op =>
  ({ kind, info, key: { id: image.id }, image, incoming: { change: { schema: 's', table: 'p', op: 'insert', key: { id: image.id }, version: '5', noFkChecks: true }, origin: 'b', txId: 't' }, ...extra }) as unknown as Op;
const checksOff = (ops: Op[]) => writeStatements(ops).some((s) => s.sql.includes('foreign_key_checks = 0'));

describe('write-batch writeStatements: foreign-key checks', () => {
  it('a write its origin made with foreign_key_checks = 0 (a dump load) goes so too', () => {
    expect(checksOff([op('insert', { id: 1, name: 'n' })])).toBe(true);
  });

  it('a unique loser’s removal, pushed with the winner’s change, always runs with checks on (its cascade and RESTRICT children as at write time)', () => {
    expect(checksOff([op('delete', { id: 2, name: 'n' }, { removal: {} })])).toBe(false);
  });
});
