import { describe, expect, it } from 'vitest';
import { anyColumn } from './any-value.js';
import { TypeCode } from './column-meta.js';
import { columnTypesOf, decodeBinlogRow, decodeQueryRow, exactSelect, selectList, typeOf } from './row.js';

describe('rows through the registry', () => {
  const types = columnTypesOf([
    { name: 'id', typeCode: TypeCode.LONG },
    { name: 'bin', typeCode: TypeCode.STRING, charset: null },
    { typeCode: TypeCode.DOUBLE }, // no name: not a column of the row
  ]);

  it('types named columns and leaves the others type-agnostic', () => {
    expect(Object.keys(types)).toEqual(['id', 'bin']);
    expect(typeOf(types, 'bin').family).toBe('binary');
    expect(typeOf(types, 'other')).toBe(anyColumn);
    expect(typeOf(undefined, 'id')).toBe(anyColumn);
  });

  it('decodes every column of a binlog or query row, keeping column order, NULL and empty', () => {
    const raw = { id: 7, bin: Buffer.from([1, 0]), extra: 'x', gone: undefined, empty: '' };
    const wire = { id: 7, bin: { $b: 'AQA=' }, extra: 'x', gone: null, empty: '' };
    expect(decodeBinlogRow(raw, types)).toEqual(wire);
    expect(Object.keys(decodeBinlogRow(raw, types))).toEqual(Object.keys(raw));
    expect(decodeQueryRow(raw, types)).toEqual(wire);
    expect(decodeBinlogRow(raw)).toEqual(wire);
  });
});

describe('selectList', () => {
  it('reads FLOAT columns as CAST(… AS DOUBLE) (the text protocol prints 6 digits; -0 as an underflow), the others as they are', () => {
    const types = columnTypesOf([
      { name: 'id', dataType: 'int' },
      { name: 'f', dataType: 'float' },
      { name: 'd', dataType: 'double' },
    ]);
    const q = (n: string) => `\`${n}\``;
    const f = 'IF(`f` = 0 AND ATAN2(`f`, -1) < 0, -1e-50, CAST(`f` AS DOUBLE)) AS `f`';
    expect(selectList(['id', 'f', 'd', 'x'], types, q)).toBe(`\`id\`, ${f}, \`d\`, \`x\``);
    expect(selectList(['f'], undefined, q)).toBe('`f`');
    expect(exactSelect(['id', 'f'], types, q)).toBe(`\`id\`, ${f}`);
    expect(exactSelect(['id', 'd'], types, q)).toBe('*');
  });
});
