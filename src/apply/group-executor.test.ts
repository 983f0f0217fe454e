import { describe, expect, it } from 'vitest';
import { DrcError, RetryableApplyError, SchemaMismatchError } from '../errors.js';
import type { TxChunk } from '../model/envelope.js';
import { failureContext, retryableInPlace } from './group-executor.js';

describe('retryableInPlace', () => {
  it('retries deadlocks, rows that appeared concurrently and capture being behind — by class and code', () => {
    expect(retryableInPlace(Object.assign(new Error('Deadlock found'), { errno: 1213 }))).toBe(true);
    expect(retryableInPlace(new RetryableApplyError('row appeared'))).toBe(true);
    expect(retryableInPlace(new DrcError('DRC_CAPTURE_BEHIND', 'not there yet'))).toBe(true);
  });
  it('leaves everything else to the supervisor (lock wait timeouts included), whatever the message says', () => {
    expect(retryableInPlace(Object.assign(new Error('Lock wait timeout exceeded'), { errno: 1205 }))).toBe(false);
    expect(retryableInPlace(new SchemaMismatchError('table t does not exist here'))).toBe(false);
    expect(retryableInPlace(new Error('Deadlock found when trying to get lock'))).toBe(false);
    expect(retryableInPlace(Object.assign(new Error('x'), { code: 'DRC_CAPTURE_BEHIND' }))).toBe(false);
  });
});

describe('failureContext', () => {
  const chunk = (id: string, tables: string[]): { chunk: TxChunk; offset: string } => ({
    chunk: { v: 1, kind: 'tx', origin: 'a', id, pos: `pos-${id}`, ts: 0, seq: 0, last: true, changes: tables.map((t) => ({ schema: 's', table: t, op: 'insert', key: { id: 1 }, after: { id: 1, secret: 'x' } })) },
    offset: '0',
  });
  it('names the table and, for one transaction, its id and position — never values', () => {
    expect(failureContext({ txs: [chunk('1-1-5', ['t', 't'])], nextOffset: '1', rows: 2 })).toEqual({ table: 's.t', txId: '1-1-5', position: 'pos-1-1-5' });
    expect(failureContext({ txs: [chunk('1', ['t']), chunk('2', ['u'])], nextOffset: '2', rows: 2 })).toEqual({ tables: 's.t,s.u', transactions: 2 });
    expect(JSON.stringify(failureContext({ txs: [chunk('1', ['t'])], nextOffset: '1', rows: 1 }))).not.toContain('secret');
  });
});
