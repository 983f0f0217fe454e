import { describe, expect, it } from 'vitest';
import { JOURNAL_KEYS_PER_STATEMENT, recordJournalStatements, type JournalKey } from './bootstrap-journal.js';
import { keyIdentityOf } from './key-identity.js';

const int = keyIdentityOf([{ name: 'id', dataType: 'int', columnType: 'int(11)', charset: null, collation: null }]);
const text = keyIdentityOf([{ name: 'id', dataType: 'varchar', columnType: 'varchar(200)', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }]);

describe('recordJournalStatements (drc bootstrap journal)', () => {
  it('records one bulk transaction of 200k keys in statements of at most 1000 keys, each far below max_allowed_packet', () => {
    const keys: JournalKey[] = [];
    for (let i = 0; i < 200_000; i++) keys.push({ schema: 'app', table: 'u', key: { id: i }, origin: 'a', identity: int });
    const statements = recordJournalStatements(keys);
    expect(statements).toHaveLength(200_000 / JOURNAL_KEYS_PER_STATEMENT);
    for (const s of statements) {
      const bytes = Buffer.byteLength(s.sql) + s.params.reduce<number>((n, p) => n + Buffer.byteLength(String(p)), 0);
      expect(bytes).toBeLessThan(1_000_000); // max_allowed_packet is 16 MB by default, 1 MB at the least configured
    }
    expect(statements.reduce((n, s) => n + (s.sql.match(/UTC_TIMESTAMP/g) ?? []).length, 0)).toBe(200_000);
  });

  it('records each key of a table once (a key changed many times in one batch), keeping equal keys of other tables', () => {
    const key = (table: string, id: string): JournalKey => ({ schema: 'app', table, key: { id }, origin: 'a', identity: text });
    const long = 'x'.repeat(200);
    const statements = recordJournalStatements([key('u', 'k1'), key('u', 'k1'), key('v', 'k1'), key('u', 'k2'), key('u', long), key('u', long)], 2);
    expect(statements.map((s) => (s.sql.match(/UTC_TIMESTAMP/g) ?? []).length)).toEqual([2, 2]);
    expect(statements.flatMap((s) => s.params.filter((p) => typeof p === 'string' && p.startsWith('[["id","')))).toEqual(['[["id","k1"]]', '[["id","k1"]]', '[["id","k2"]]', `[["id","${long}"]]`]);
  });

  it('records nothing for no keys', () => {
    expect(recordJournalStatements([])).toEqual([]);
  });
});
