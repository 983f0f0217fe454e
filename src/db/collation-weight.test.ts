import { describe, expect, it } from 'vitest';
import { collatedColumn, mayCut, neverCut, weightOfValue, weightSql } from './collation-weight.js';

describe('collation weights', () => {
  const varchar = { name: 'n', columnType: 'varchar(20)', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' };

  it('pads PAD SPACE values to the column length, keeps NO PAD ones, trims where no length is declared', () => {
    expect(weightSql('?', collatedColumn(varchar))).toBe('HEX(WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE utf8mb4_general_ci AS CHAR(20)))');
    expect(weightSql('`n`', collatedColumn({ ...varchar, collation: 'utf8mb4_0900_ai_ci' }))).toBe('HEX(WEIGHT_STRING(CONVERT(`n` USING utf8mb4) COLLATE utf8mb4_0900_ai_ci))');
    expect(weightSql('?', collatedColumn({ ...varchar, columnType: 'text' }))).toBe("HEX(WEIGHT_STRING(TRIM(TRAILING ' ' FROM CONVERT(? USING utf8mb4)) COLLATE utf8mb4_general_ci))");
  });

  it('weighs a key prefix: the first characters, padded to the prefix (a TEXT prefix too)', () => {
    expect(collatedColumn(varchar, 4)).toEqual({ charset: 'utf8mb4', collation: 'utf8mb4_general_ci', padTo: 4, trim: false, prefix: 4 });
    expect(weightSql('?', collatedColumn({ ...varchar, columnType: 'text' }, 10))).toBe('HEX(WEIGHT_STRING(LEFT(CONVERT(? USING utf8mb4), 10) COLLATE utf8mb4_general_ci AS CHAR(10)))');
    expect(collatedColumn({ ...varchar, columnType: 'char(3)' }, 10).padTo).toBe(3); // a prefix longer than the column: the column
  });

  it('where an expansion may cut the padded weight, weighs a value whose trimmed weight outgrows it padded to 8n, marked', () => {
    const uca = collatedColumn({ ...varchar, columnType: 'varchar(3)', collation: 'utf8mb4_unicode_ci' });
    const sql = weightSql('`n`', uca);
    const w = (m: number) => `WEIGHT_STRING(CONVERT(\`n\` USING utf8mb4) COLLATE utf8mb4_unicode_ci AS CHAR(${m}))`;
    const space = "WEIGHT_STRING(CONVERT(' ' USING utf8mb4) COLLATE utf8mb4_unicode_ci AS CHAR(21))";
    expect(sql).toBe(
      `IF(${[1, 2, 3].map((l) => `SUBSTRING(${w(24)}, ${(l - 1) * 48 + 1}, 48) <> CONCAT(SUBSTRING(${w(3)}, ${(l - 1) * 6 + 1}, 6), SUBSTRING(${space}, ${(l - 1) * 42 + 1}, 42))`).join(' OR ')}, ` +
        `CONCAT('+', SHA2(HEX(${w(24)}), 256)), HEX(${w(3)}))`,
    );
    expect(sql).not.toContain('LEVEL'); // MySQL 8 has no LEVEL clause
    expect(sql.split('`n`')).toHaveLength(9); // eight uses: a bound value is bound eight times
    expect(weightOfValue('kßz', uca).params).toEqual(Array(8).fill('kßz'));
    expect(weightOfValue('kss', uca)).toEqual({ sql: 'HEX(WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE utf8mb4_unicode_ci AS CHAR(3)))', params: ['kss'] });
    expect(weightOfValue(Buffer.from('kss'), uca).params).toHaveLength(8); // bytes: their charset decides, not ASCII
    expect([mayCut(collatedColumn(varchar)), mayCut(collatedColumn({ ...varchar, collation: 'latin1_swedish_ci', charset: 'latin1' })), mayCut(collatedColumn({ ...varchar, collation: 'uca1400_nopad_ai_ci' }))]).toEqual([false, false, false]);
    expect([mayCut(uca), mayCut(collatedColumn({ ...varchar, collation: 'latin1_german2_ci', charset: 'latin1' })), mayCut(collatedColumn({ ...varchar, collation: 'uca1400_as_cs' }))]).toEqual([true, true, true]);
    expect([neverCut('a ~', uca), neverCut('ß', uca), neverCut('a\t', uca), neverCut(null, uca), neverCut('a', { ...uca, charset: 'sjis', collation: 'sjis_japanese_ci' })]).toEqual([true, false, false, false, false]);
  });

  it('refuses names that are not plain server names (they are inlined)', () => {
    expect(() => collatedColumn({ ...varchar, charset: 'utf8mb4) --' })).toThrow(/charset or collation/);
  });
});
