import { describe, expect, it } from 'vitest';
import { DrcError, RetryableApplyError, SchemaMismatchError } from '../errors.js';
import { retryableInPlace } from './group-executor.js';

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
