import { describe, expect, it } from 'vitest';
import { collatedColumn, weightSql } from './collation-weight.js';

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

  it('refuses names that are not plain server names (they are inlined)', () => {
    expect(() => collatedColumn({ ...varchar, charset: 'utf8mb4) --' })).toThrow(/charset or collation/);
  });
});
