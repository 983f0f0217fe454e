import { describe, expect, it } from 'vitest';
import { versionColumnWeakness } from './bootstrap-preflight.js';

describe('versionColumnWeakness', () => {
  const col = (dataType: string, over: Partial<{ precision: number | null; nullable: boolean; extra: string }> = {}) => ({ dataType, precision: null, nullable: false, extra: '', ...over });

  it('accepts NOT NULL integers and DATETIME/TIMESTAMP with fractional seconds and ON UPDATE', () => {
    expect(versionColumnWeakness(col('bigint'))).toBeUndefined();
    expect(versionColumnWeakness(col('int'))).toBeUndefined();
    expect(versionColumnWeakness(col('datetime', { precision: 6, extra: 'on update current_timestamp(6)' }))).toBeUndefined();
    expect(versionColumnWeakness(col('timestamp', { precision: 3, extra: 'DEFAULT_GENERATED on update CURRENT_TIMESTAMP(3)' }))).toBeUndefined();
  });

  it('names why a column cannot order rows', () => {
    expect(versionColumnWeakness(col('bigint', { nullable: true }))).toMatch(/nullable/);
    expect(versionColumnWeakness(col('date'))).toMatch(/DATE/);
    expect(versionColumnWeakness(col('datetime', { precision: 0, extra: 'on update current_timestamp()' }))).toMatch(/no fractional seconds/);
    expect(versionColumnWeakness(col('datetime', { precision: 6 }))).toMatch(/no ON UPDATE/);
    expect(versionColumnWeakness(col('varchar'))).toMatch(/varchar, not an integer/);
    expect(versionColumnWeakness(col('decimal'))).toMatch(/decimal/);
  });
});
