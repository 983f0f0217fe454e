import { describe, expect, it } from 'vitest';
import { keyBind, keyCompare, rowDigest, valueText, type VerifyColumn } from './verify-sql.js';

const col = (name: string, dataType: string, extra: Partial<VerifyColumn> = {}): VerifyColumn => ({
  name,
  dataType,
  columnType: dataType,
  charset: null,
  collation: null,
  generated: false,
  ...extra,
});

describe('verify SQL', () => {
  it('compares numbers by their exact text, never by HEX() of the number (HEX(1.5) is 2)', () => {
    expect(valueText(col('d', 'double'))).toBe("IF(`d` = 0 AND ATAN2(`d`, -1) < 0, '-0', CAST(CAST(`d` AS DOUBLE) AS CHAR))");
    expect(valueText(col('f', 'float'))).toContain('CAST(`f` AS DOUBLE)');
    for (const t of ['bigint', 'decimal', 'datetime', 'timestamp', 'time', 'year', 'date']) expect(valueText(col('x', t))).toBe('CAST(`x` AS CHAR)');
    for (const t of ['enum', 'set', 'bit']) expect(valueText(col('x', t, { charset: t === 'bit' ? null : 'utf8mb4' }))).toBe('CAST(`x` + 0 AS CHAR)');
    expect(valueText(col('u', 'uuid'))).toBe('CAST(`u` AS BINARY)');
  });

  it('compares strings, binary strings, JSON and geometry by their stored bytes', () => {
    expect(valueText(col('s', 'varchar', { charset: 'latin1', collation: 'latin1_swedish_ci' }))).toBe('`s`');
    expect(valueText(col('b', 'varbinary'))).toBe('`b`');
    expect(valueText(col('g', 'point'))).toBe('`g`');
    expect(valueText(col('j', 'json'))).toBe('`j`');
  });

  it('marks NULL apart from every value, and quotes every name', () => {
    expect(rowDigest([col('a`b', 'varchar', { charset: 'utf8mb4', collation: 'x' }), col('n', 'int')])).toBe(
      "MD5(CONCAT_WS(',', IFNULL(CONCAT('=', MD5(`a``b`)), '-'), IFNULL(CONCAT('=', MD5(CAST(`n` AS CHAR))), '-')))",
    );
  });

  it('binds hex keys back in the column type, charset and collation', () => {
    expect(keyBind(col('s', 'varchar', { charset: 'latin1', collation: 'latin1_bin' }))).toBe('CONVERT(UNHEX(?) USING latin1) COLLATE latin1_bin');
    expect(keyBind(col('b', 'binary'))).toBe('UNHEX(?)');
    expect(keyBind(col('i', 'bigint', { columnType: 'bigint(20) unsigned' }))).toBe('CAST(CONVERT(UNHEX(?) USING utf8mb4) AS UNSIGNED)');
    expect(keyBind(col('i', 'int'))).toContain('AS SIGNED');
    expect(keyBind(col('d', 'decimal', { columnType: 'decimal(40,20)' }))).toContain('AS DECIMAL(40, 20)');
    expect(keyBind(col('e', 'enum', { charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }))).toContain('AS UNSIGNED');
    expect(() => keyBind(col('s', 'varchar', { charset: 'latin1', collation: 'x; DROP' }))).toThrow();
    expect(keyCompare([col('a', 'int'), col('b', 'binary')], '>')).toBe('(`a`, `b`) > (CAST(CONVERT(UNHEX(?) USING utf8mb4) AS SIGNED), UNHEX(?))');
  });
});
