import { describe, expect, it } from 'vitest';
import { TypeCode } from '../model/types/column-meta.js';
import { rawBytesColumns, type PatchedColumn } from './zongji-patches.js';

describe('rawBytesColumns (fixes of @vlasky/zongji 0.9.0 decoding)', () => {
  const cols = (): PatchedColumn[] => [
    { name: 'g', type: TypeCode.GEOMETRY, charset: null },
    { name: 'v', type: TypeCode.VARCHAR, charset: 'latin1' },
    { name: 'c', type: TypeCode.STRING, charset: 'sjis' },
    { name: 't', type: TypeCode.BLOB, charset: 'gbk' },
    { name: 'u', type: TypeCode.VARCHAR, charset: 'utf8mb4' },
    { name: 'b', type: TypeCode.STRING, charset: null },
  ];
  const schemas = () => [{ COLUMN_TYPE: 'point' }, { COLUMN_TYPE: 'varchar(10)' }, { COLUMN_TYPE: 'char(4)' }, { COLUMN_TYPE: 'text' }, { COLUMN_TYPE: 'varchar(4)' }, { COLUMN_TYPE: 'binary(4)' }];

  it('reads GEOMETRY as a BLOB (lib/common.js:778 parseGeometryValue drops SRID and WKB), keeping its type aside', () => {
    const c = cols();
    rawBytesColumns(c, schemas());
    expect(c[0]).toMatchObject({ type: TypeCode.BLOB, charset: null, declaredType: TypeCode.GEOMETRY });
  });

  it('hands over the bytes of text outside UTF-8 (lib/common.js:450 latin1 as cp1252, :464 iconv), keeping the charset aside', () => {
    const c = cols();
    const s = schemas();
    rawBytesColumns(c, s);
    expect(s[1]!.COLUMN_TYPE!.startsWith('varbin')).toBe(true); // lib/common.js:728 returns VARBINARY bytes as they are
    expect(c[1]).toMatchObject({ charset: 'latin1', declaredCharset: 'latin1' });
    expect(s[2]!.COLUMN_TYPE!.startsWith('varbin')).toBe(true);
    expect(c[3]).toMatchObject({ charset: null, declaredCharset: 'gbk' }); // lib/common.js:752 decodes only with a charset
    expect(c[4]).toEqual({ name: 'u', type: TypeCode.VARCHAR, charset: 'utf8mb4' });
    expect(s[5]!.COLUMN_TYPE).toBe('binary(4)');
  });

  it('is idempotent (zongji may run updateColumnInfo on a cached table map again)', () => {
    const c = cols();
    const s = schemas();
    rawBytesColumns(c, s);
    const once = JSON.stringify([c, s]);
    rawBytesColumns(c, s);
    expect(JSON.stringify([c, s])).toBe(once);
  });
});
