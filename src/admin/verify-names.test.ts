import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { formatTableName, parseTableList } from './verify-names.js';

describe('verify --tables names', () => {
  it('reads plain, backtick-quoted and non-ASCII parts', () => {
    expect(parseTableList('db.t, other.t2')).toEqual([
      { schema: 'db', table: 't' },
      { schema: 'other', table: 't2' },
    ]);
    expect(parseTableList('`my.db`.t,数据.`a.b`,db.`we``ird`,`a,b`.` sp `')).toEqual([
      { schema: 'my.db', table: 't' },
      { schema: '数据', table: 'a.b' },
      { schema: 'db', table: 'we`ird' },
      { schema: 'a,b', table: ' sp ' },
    ]);
    expect(parseTableList('`x```.````')).toEqual([{ schema: 'x`', table: '`' }]);
  });

  it('refuses what is ambiguous or incomplete, with a usage error', () => {
    for (const bad of ['', 'db', 'my.db.t', 'db.', '.t', '`db.t', 'db.t`x`', 'db.``', 'a.b c.d', ',']) {
      expect(() => parseTableList(bad), bad).toThrow(UsageError);
    }
    expect(() => parseTableList('my.db.t')).toThrow(/second dot/);
  });

  it('prints names so that they parse back to the same parts', () => {
    const names = [
      { schema: 'db', table: 't' },
      { schema: 'my.db', table: 'we`ird' },
      { schema: '数据', table: 'a,b' },
      { schema: ' lead', table: 'x' },
    ];
    expect(names.map(formatTableName)).toEqual(['db.t', '`my.db`.`we``ird`', '数据.`a,b`', '` lead`.x']);
    expect(parseTableList(names.map(formatTableName).join(','))).toEqual(names);
  });
});
