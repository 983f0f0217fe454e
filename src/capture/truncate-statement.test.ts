import { describe, expect, it } from 'vitest';
import { parseTruncate } from './truncate-statement.js';

describe('parseTruncate', () => {
  it('reads the table of every spelling the server logs', () => {
    expect(parseTruncate('TRUNCATE TABLE t', 'app')).toEqual({ kind: 'truncate', schema: 'app', table: 't' });
    expect(parseTruncate('truncate t', 'app')).toEqual({ kind: 'truncate', schema: 'app', table: 't' });
    expect(parseTruncate('TRUNCATE TABLE `other`.`my``t` ;', 'app')).toEqual({ kind: 'truncate', schema: 'other', table: 'my`t' });
    expect(parseTruncate('/* app */ TRUNCATE TABLE s . `t.x` WAIT 5', '')).toEqual({ kind: 'truncate', schema: 's', table: 't.x' });
    expect(parseTruncate('-- c\nTRUNCATE TABLE `ü` NOWAIT', 'db')).toEqual({ kind: 'truncate', schema: 'db', table: 'ü' });
  });

  it('leaves other statements alone and never guesses an unreadable truncate', () => {
    expect(parseTruncate('ALTER TABLE t ADD c INT', 'app')).toEqual({ kind: 'other' });
    expect(parseTruncate('TRUNCATEX t', 'app')).toEqual({ kind: 'other' });
    expect(parseTruncate('TRUNCATE TABLE a, b', 'app')).toEqual({ kind: 'unreadable' });
    expect(parseTruncate('TRUNCATE TABLE t', '')).toEqual({ kind: 'unreadable' });
  });
});
