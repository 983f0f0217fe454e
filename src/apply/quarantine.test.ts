import { describe, expect, it } from 'vitest';
import { ApplyStaleError, DeadlockError, DuplicateKeyError, FencedError, NoSuchColumnError, SchemaMismatchError, UnexpectedError, ValueRejectedError } from '../errors.js';
import type { TxChunk } from '../model/envelope.js';
import { describeTx, quarantinable } from './quarantine.js';

describe('quarantinable', () => {
  it('takes deterministic failures about the data: a rejected value, a key collision, a server error by errno', () => {
    expect(quarantinable(new ValueRejectedError("Data too long for column 'name' at row 1"))?.code).toBe('DRC_VALUE_REJECTED');
    expect(quarantinable(new DuplicateKeyError('dup'))?.code).toBe('DRC_DUPLICATE_KEY');
    // a raw driver error is classified by errno (1406: data too long)
    expect(quarantinable(Object.assign(new Error("Data too long for column 'x' at row 1"), { errno: 1406, code: 'ER_DATA_TOO_LONG' }))?.code).toBe('DRC_VALUE_REJECTED');
  });

  it('leaves transient, fatal, schema and stale failures to the supervisor (they pause, or retry)', () => {
    for (const err of [new DeadlockError('d'), new UnexpectedError('bug'), new FencedError(undefined), new SchemaMismatchError('no column'), new NoSuchColumnError('c'), new ApplyStaleError('stale'), new Error('anything')]) {
      expect(quarantinable(err), err.message).toBeUndefined();
    }
  });
});

describe('describeTx', () => {
  it('names each table once and every key written, in order', () => {
    const chunk: TxChunk = {
      v: 1,
      kind: 'tx',
      origin: 'a',
      id: '1-1-5',
      pos: '1-1-5',
      ts: 0,
      seq: 0,
      last: true,
      changes: [
        { schema: 's', table: 't', op: 'insert', key: { id: 1 }, after: { id: 1 } },
        { schema: 's', table: 'u', op: 'delete', key: { id: 2 }, before: { id: 2 } },
        { schema: 's', table: 't', op: 'update', key: { id: 3 }, before: { id: 3 }, after: { id: 3 } },
      ],
    };
    expect(describeTx(chunk)).toEqual({ tables: ['s.t', 's.u'], keys: [{ table: 's.t', key: { id: 1 } }, { table: 's.u', key: { id: 2 } }, { table: 's.t', key: { id: 3 } }] });
  });
});
