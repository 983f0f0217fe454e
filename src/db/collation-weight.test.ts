import { describe, expect, it } from 'vitest';
import { collatedColumn, weightSql } from './collation-weight.js';

describe('collation weights', () => {
  const varchar = { name: 'n', columnType: 'varchar(20)', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' };

  it('pads PAD SPACE values to the column length, keeps NO PAD ones, trims where no length is declared', () => {
    // A value whose weights outgrow the padding (expansions: ß = ss under unicode_ci) is weighed whole, after '+';
    // a parameter is bound once (a derived table), a column is named as often as needed.
    const weigh = (v: string, n: number) =>
      `IF(LENGTH(WEIGHT_STRING(TRIM(TRAILING ' ' FROM ${v}) COLLATE utf8mb4_general_ci)) > LENGTH(WEIGHT_STRING(${v} COLLATE utf8mb4_general_ci AS CHAR(${n}))), ` +
      `CONCAT('+', HEX(WEIGHT_STRING(TRIM(TRAILING ' ' FROM ${v}) COLLATE utf8mb4_general_ci))), HEX(WEIGHT_STRING(${v} COLLATE utf8mb4_general_ci AS CHAR(${n}))))`;
    expect(weightSql('?', collatedColumn(varchar))).toBe(`(SELECT ${weigh('drc_w.v', 20)} FROM (SELECT CONVERT(? USING utf8mb4) AS v) AS drc_w)`);
    expect(weightSql('`n`', collatedColumn(varchar))).toBe(weigh('CONVERT(`n` USING utf8mb4)', 20));
    expect(weightSql('`n`', collatedColumn({ ...varchar, collation: 'utf8mb4_0900_ai_ci' }))).toBe('HEX(WEIGHT_STRING(CONVERT(`n` USING utf8mb4) COLLATE utf8mb4_0900_ai_ci))');
    expect(weightSql('?', collatedColumn({ ...varchar, columnType: 'text' }))).toBe("HEX(WEIGHT_STRING(TRIM(TRAILING ' ' FROM CONVERT(? USING utf8mb4)) COLLATE utf8mb4_general_ci))");
  });

  it('weighs a key prefix: the first characters, padded to the prefix (a TEXT prefix too)', () => {
    expect(collatedColumn(varchar, 4)).toEqual({ charset: 'utf8mb4', collation: 'utf8mb4_general_ci', padTo: 4, trim: false, prefix: 4 });
    expect(weightSql('?', collatedColumn({ ...varchar, columnType: 'text' }, 10))).toContain('(SELECT LEFT(CONVERT(? USING utf8mb4), 10) AS v)');
    expect(weightSql('?', collatedColumn({ ...varchar, columnType: 'text' }, 10))).toContain('HEX(WEIGHT_STRING(drc_w.v COLLATE utf8mb4_general_ci AS CHAR(10)))');
    expect(collatedColumn({ ...varchar, columnType: 'char(3)' }, 10).padTo).toBe(3); // a prefix longer than the column: the column
  });

  it('refuses names that are not plain server names (they are inlined)', () => {
    expect(() => collatedColumn({ ...varchar, charset: 'utf8mb4) --' })).toThrow(/charset or collation/);
  });
});
