import { describe, expect, it } from 'vitest';
import { binlogColumnMeta, binlogTableColumns, fieldColumnMeta, schemaColumnMeta, TypeCode, type QueryField } from './column-meta.js';
import { anyFamily, columnType, FAMILIES, familyOf, queryTypeCast } from './registry.js';
import type { TypeFamily } from './family.js';

const T = TypeCode;

describe('familyOf', () => {
  it('picks the family from binlog type codes', () => {
    const cases: [number, string][] = [
      [T.TINY, 'integer'], [T.LONGLONG, 'integer'], [T.INT24, 'integer'],
      [T.NEWDECIMAL, 'decimal'], [T.FLOAT, 'float'], [T.DOUBLE, 'float'],
      [T.DATE, 'temporal'], [T.DATETIME2, 'temporal'], [T.TIMESTAMP2, 'temporal'], [T.TIME2, 'time'], [T.YEAR, 'year'],
      [T.ENUM, 'enum-set'], [T.SET, 'enum-set'], [T.BIT, 'bit'], [T.JSON, 'json'], [T.GEOMETRY, 'geometry'],
    ];
    for (const [typeCode, family] of cases) expect(familyOf({ typeCode }).name).toBe(family);
  });

  it('tells character from binary strings by charset, and knows nothing without one', () => {
    expect(familyOf({ typeCode: T.VARCHAR, charset: 'utf8mb4' }).name).toBe('text');
    expect(familyOf({ typeCode: T.BLOB, charset: 'latin1' }).name).toBe('text');
    expect(familyOf({ typeCode: T.STRING, charset: null }).name).toBe('binary');
    expect(familyOf({ typeCode: T.BLOB, charset: null }).name).toBe('binary');
    expect(familyOf({ typeCode: T.STRING }).name).toBe('any');
    expect(familyOf({ typeCode: T.STRING, charset: null, columnType: 'uuid' }).name).toBe('any');
  });

  it('picks the family from information_schema DATA_TYPE first', () => {
    expect(familyOf({ dataType: 'point', typeCode: T.STRING }).name).toBe('geometry');
    expect(familyOf({ dataType: 'longtext' }).name).toBe('text');
    expect(familyOf({ dataType: 'varbinary' }).name).toBe('binary');
    expect(familyOf({ dataType: 'bigint' }).name).toBe('integer');
    expect(familyOf({ dataType: 'inet6' }).name).toBe('inet-uuid');
    expect(familyOf({ dataType: 'uuid' }).name).toBe('inet-uuid');
    expect(familyOf({}).name).toBe('any');
  });

  it('gives DOUBLE a column type of its own, so that its fix lands alone', () => {
    const double = columnType({ typeCode: T.DOUBLE });
    const float = columnType({ typeCode: T.FLOAT });
    expect(double.family).toBe('float');
    expect(double).not.toBe(float);
    expect(columnType({ dataType: 'double' })).toBe(double);
  });

  it('marks only points in time as clock versions (a delete may take the commit time)', () => {
    const clock = [T.TIMESTAMP, T.DATE, T.DATETIME, T.NEWDATE, T.TIMESTAMP2, T.DATETIME2];
    for (let code = 0; code < 256; code++) expect(columnType({ typeCode: code }).clockVersion).toBe(clock.includes(code as never));
  });
});

describe('column metadata', () => {
  it('reads zongji table map columns', () => {
    const meta = binlogColumnMeta({ name: 'bin', charset: null, type: T.STRING, metadata: { max_length: 4 } }, { COLUMN_TYPE: 'binary(4)' });
    expect(meta).toEqual({ name: 'bin', typeCode: T.STRING, charset: null, columnType: 'binary(4)', binlog: { max_length: 4 } });
    expect(familyOf(meta).name).toBe('binary');
  });

  it('reads a table of zongji’s table map cache, and nothing when none is cached', () => {
    const table = {
      columns: [
        { name: 'id', charset: null, type: T.LONG, metadata: null },
        { name: 'e', charset: 'utf8mb4', type: T.ENUM, metadata: { size: 1 } },
      ],
      columnSchemas: [{ COLUMN_TYPE: 'int' }, { COLUMN_TYPE: "enum('a')" }],
    };
    expect(binlogTableColumns(table).map((c) => [c.name, familyOf(c).name, c.columnType])).toEqual([
      ['id', 'integer', 'int'],
      ['e', 'enum-set', "enum('a')"],
    ]);
    expect(binlogTableColumns(undefined)).toEqual([]);
  });

  it('reads information_schema rows, generated and nullable columns included', () => {
    const meta = schemaColumnMeta({
      COLUMN_NAME: 'g', DATA_TYPE: 'VARCHAR', COLUMN_TYPE: 'varchar(10)', CHARACTER_SET_NAME: 'latin1',
      COLLATION_NAME: 'latin1_swedish_ci', IS_NULLABLE: 'YES', EXTRA: 'VIRTUAL GENERATED', GENERATION_EXPRESSION: null,
    });
    expect(meta).toEqual({ name: 'g', dataType: 'varchar', columnType: 'varchar(10)', charset: 'latin1', collation: 'latin1_swedish_ci', nullable: true, generated: true });
    expect(schemaColumnMeta({ COLUMN_NAME: 'id', DATA_TYPE: 'int', EXTRA: 'auto_increment' }).generated).toBe(false);
    expect(schemaColumnMeta({ COLUMN_NAME: 's', DATA_TYPE: 'int', EXTRA: '', GENERATION_EXPRESSION: '`a` + 1' }).generated).toBe(true);
  });

  it('reads mysql2 result fields by type name', () => {
    expect(fieldColumnMeta({ type: 'NEWDECIMAL', name: 'd' })).toEqual({ name: 'd', typeCode: T.NEWDECIMAL });
    expect(fieldColumnMeta({ type: 'VECTOR?', name: 'x' })).toEqual({ name: 'x' });
  });
});

describe('queryTypeCast', () => {
  const field = (type: string): QueryField => ({ type, name: 'c', string: () => 'text', buffer: () => Buffer.from('bytes'), geometry: () => null });

  it('is absent while no family reads fields itself (mysql2 keeps its default decoding)', () => {
    expect(queryTypeCast(FAMILIES.filter((f) => !f.readField))).toBeUndefined();
  });

  it('reads GEOMETRY as its bytes and MariaDB UUID/INET text as theirs; other fields as mysql2 does', () => {
    const cast = queryTypeCast()!;
    expect(cast(field('GEOMETRY'), () => 'parsed')).toEqual(Buffer.from('bytes'));
    const uuid = { ...field('STRING'), extendedTypeName: 'uuid', string: () => '6ccd780c-baba-1026-9564-5b8c656024db' };
    expect(cast(uuid, () => 'text')).toEqual(Buffer.from('6ccd780cbaba102695645b8c656024db', 'hex'));
    const inet6 = { ...field('STRING'), extendedTypeName: 'inet6', string: () => '::ffff:1.2.3.4' };
    expect(cast(inet6, () => 'text')).toEqual(Buffer.from('00000000000000000000ffff01020304', 'hex'));
    expect(cast(field('STRING'), () => 'text')).toBe('text');
    expect(cast(field('LONG'), () => 7)).toBe(7);
  });

  it('hands a field to its family when one reads fields, and to mysql2 otherwise', () => {
    const reading: TypeFamily = { ...anyFamily, name: 'geometry', readField: (f) => f.buffer() };
    const cast = queryTypeCast([...FAMILIES, reading], (meta) => (meta.typeCode === T.GEOMETRY ? reading : anyFamily))!;
    expect(cast(field('GEOMETRY'), () => 'default')).toEqual(Buffer.from('bytes'));
    expect(cast(field('LONG'), () => 'default')).toBe('default');
  });
});
