import { describe, expect, it } from 'vitest';
import { decodeChange } from '../model/envelope.js';
import { truncateRows, versionAsUtcText } from './sql/truncate.js';
import { truncatePlan } from './truncate.js';

describe('truncate', () => {
  it('compares a version as the UTC text of its microseconds', () => {
    const us = (BigInt(Date.UTC(2026, 11, 1, 10, 0, 0, 500)) * 1000n + 123n).toString();
    expect(versionAsUtcText(us)).toBe('2026-12-01 10:00:00.500123');
    expect(versionAsUtcText('0')).toBe('1970-01-01 00:00:00.000000');
  });

  it('deletes the rows not newer than the truncate (NULL is the lowest version), or all without a version', () => {
    expect(truncateRows('s', 't`x', 'updated_at', '1000000')).toEqual({ sql: 'DELETE FROM `s`.`t``x` WHERE `updated_at` <= ? OR `updated_at` IS NULL', params: ['1970-01-01 00:00:01.000000'] });
    expect(truncateRows('s', 't', null, undefined)).toEqual({ sql: 'DELETE FROM `s`.`t`', params: [] });
  });

  it('compares versions only for a temporal version column', () => {
    expect(truncatePlan('updated_at', '5', true)).toEqual({ compare: true });
    expect(truncatePlan('n', '5', false)).toEqual({ compare: false });
    expect(truncatePlan(null, undefined, false)).toEqual({ compare: false });
    expect(truncatePlan('updated_at', undefined, true)).toEqual({ compare: false });
  });

  it('travels in the envelope with an empty key and no images, and nothing else does', () => {
    expect(decodeChange(JSON.stringify({ schema: 's', table: 't', op: 'truncate', key: {}, version: '5' }))).toMatchObject({ op: 'truncate', key: {} });
    expect(() => decodeChange(JSON.stringify({ schema: 's', table: 't', op: 'truncate', key: { id: 1 } }))).toThrow();
    expect(() => decodeChange(JSON.stringify({ schema: 's', table: 't', op: 'truncate', key: {}, before: { id: 1 } }))).toThrow();
    expect(() => decodeChange(JSON.stringify({ schema: 's', table: 't', op: 'delete', key: {}, before: { id: 1 } }))).toThrow();
  });
});
