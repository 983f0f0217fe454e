import { describe, expect, it } from 'vitest';
import type { ColumnMeta } from '../model/types/column-meta.js';
import { isNoPad, keyIdentityOf, keyIdentitySql, legacyKeyHash } from './key-identity.js';

const columns: ColumnMeta[] = [
  { name: 'name', dataType: 'varchar', columnType: 'varchar(20)', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' },
  { name: 'd', dataType: 'double', columnType: 'double', charset: null, collation: null },
  { name: 'code', dataType: 'char', columnType: 'char(3)', charset: 'latin1', collation: 'latin1_swedish_ci' },
  { name: 'np', dataType: 'varchar', columnType: 'varchar(8)', charset: 'utf8mb4', collation: 'utf8mb4_nopad_bin' },
  { name: 'body', dataType: 'text', columnType: 'text', charset: 'utf8mb4', collation: 'uca1400_ai_ci' },
  { name: 'e', dataType: 'enum', columnType: "enum('a','b')", charset: 'utf8mb4', collation: 'utf8mb4_general_ci' },
  { name: 'bin', dataType: 'varbinary', columnType: 'varbinary(8)', charset: null, collation: null },
];

describe('key identity', () => {
  const identity = keyIdentityOf(columns);

  it('collates character columns only: PAD SPACE padded to the column length, NO PAD as is, TEXT trimmed', () => {
    expect([...identity.collated.keys()]).toEqual(['name', 'code', 'np', 'body']);
    expect(identity.collated.get('name')).toEqual({ charset: 'utf8mb4', collation: 'utf8mb4_general_ci', padTo: 20, trim: false });
    expect(identity.collated.get('np')).toEqual({ charset: 'utf8mb4', collation: 'utf8mb4_nopad_bin', padTo: undefined, trim: false });
    expect(identity.collated.get('body')).toEqual({ charset: 'utf8mb4', collation: 'uca1400_ai_ci', padTo: undefined, trim: true });
    expect(keyIdentityOf(columns)).toBe(identity); // memoised per column list
  });

  it('builds the identity text around the server weight of each character column, columns sorted', () => {
    const s = keyIdentitySql({ name: 'Alice', d: 20000000.25, code: { $b: Buffer.from([0xe9]).toString('base64') } }, identity);
    expect(s.sql).toBe(
      'UNHEX(SHA2(CONCAT(?, HEX(WEIGHT_STRING(CONVERT(? USING latin1) COLLATE latin1_swedish_ci AS CHAR(3))), ?, ' +
        'HEX(WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE utf8mb4_general_ci AS CHAR(20))), ?), 256))',
    );
    expect(s.params).toEqual(['[["code",{"w":"', Buffer.from([0xe9]), '"}],["d","20000000.25"],["name",{"w":"', 'Alice', '"}]]']);
  });

  it('keeps DOUBLE keys exact (float32 rounding only for FLOAT), and two DOUBLEs equal at float32 apart', () => {
    const a = keyIdentitySql({ d: 20000000.25 }, identity);
    const b = keyIdentitySql({ d: 20000000.75 }, identity);
    expect(a.params).toEqual(['[["d","20000000.25"]]']);
    expect(b.params).not.toEqual(a.params);
    const float = keyIdentityOf([{ name: 'f', dataType: 'float', columnType: 'float', typeCode: 4 }]);
    expect(keyIdentitySql({ f: 1.100000023841858 }, float).params).toEqual(keyIdentitySql({ f: 1.1 }, float).params);
  });

  it('NO PAD, TEXT and ENUM columns: no padding, trimmed, exact label', () => {
    expect(keyIdentitySql({ np: 'x ' }, identity).sql).toContain('HEX(WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE utf8mb4_nopad_bin))');
    expect(keyIdentitySql({ body: 'x' }, identity).sql).toContain("HEX(WEIGHT_STRING(TRIM(TRAILING ' ' FROM CONVERT(? USING utf8mb4)) COLLATE uca1400_ai_ci))");
    expect(keyIdentitySql({ e: 'a', bin: { $b: 'AA==' } }, identity)).toEqual({ sql: 'UNHEX(SHA2(CONCAT(?), 256))', params: ['[["bin",["b","AA=="]],["e","a"]]'] });
  });

  it('refuses a charset or collation name that is not a plain server name (they are inlined)', () => {
    expect(() => keyIdentityOf([{ name: 'x', dataType: 'varchar', columnType: 'varchar(3)', charset: 'utf8mb4', collation: 'x) OR (1' }])).toThrow(/collation/);
  });

  it('knows NO PAD collations of both flavours', () => {
    expect(['utf8mb4_nopad_bin', 'uca1400_nopad_ai_ci', 'utf8mb4_0900_ai_ci', 'utf8mb4_0900_bin'].every(isNoPad)).toBe(true);
    expect(['utf8mb4_bin', 'utf8mb4_general_ci', 'uca1400_ai_ci', 'latin1_swedish_ci'].some(isNoPad)).toBe(false);
  });

  it('keeps the pinned legacy hash (tombstones stored before are looked up by it until they expire)', () => {
    expect(legacyKeyHash({ id: 1 }).toString('hex')).toBe('d8d524ab5ac3d6aba3c649cab3c22e92fd9d6e91c1ffde4e15a54d890fd2706b');
  });
});
