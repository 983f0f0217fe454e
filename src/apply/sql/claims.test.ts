import { describe, expect, it } from 'vitest';
import { collated, dropStaleClaimsStatements, findClaims, lockClaims, lookupCondition, purgeClaimsStatement, recordClaimsStatement, rowsWithWeights, valueWeights, weightExpr } from './claims.js';

describe('claim statements', () => {
  it('weigh a string under its collation, trailing spaces dropped only under PAD SPACE', () => {
    expect(weightExpr('?', { charset: 'utf8mb4', collation: 'utf8mb4_general_ci', columnType: 'varchar(12)' })).toBe('HEX(WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE utf8mb4_general_ci AS CHAR(12)))');
    expect(weightExpr('?', { charset: 'utf8mb4', collation: 'utf8mb4_general_ci', columnType: 'text' })).toBe("HEX(WEIGHT_STRING(TRIM(TRAILING ' ' FROM CONVERT(? USING utf8mb4)) COLLATE utf8mb4_general_ci))");
    expect(weightExpr('`c`', { charset: 'utf8mb4', collation: 'utf8mb4_nopad_bin', columnType: 'varchar(12)' })).toBe('HEX(WEIGHT_STRING(CONVERT(`c` USING utf8mb4) COLLATE utf8mb4_nopad_bin))');
  });

  it('weigh the first characters of a prefix key (bytes for a binary column), and look its holders up by them', () => {
    const name = { name: 'name', charset: 'utf8mb4', collation: 'utf8mb4_general_ci', columnType: 'varchar(20)' };
    expect(weightExpr('?', name, 4)).toBe('HEX(WEIGHT_STRING(LEFT(CONVERT(? USING utf8mb4), 4) COLLATE utf8mb4_general_ci AS CHAR(4)))');
    expect(weightExpr('`name`', { ...name, collation: 'utf8mb4_nopad_bin' }, 4)).toBe('HEX(WEIGHT_STRING(LEFT(CONVERT(`name` USING utf8mb4), 4) COLLATE utf8mb4_nopad_bin))');
    expect(weightExpr('?', { name: 'code', charset: null, collation: null, columnType: 'varbinary(16)' }, 3)).toBe('HEX(LEFT(?, 3))');
    expect(() => weightExpr('?', { name: 'code', charset: null, collation: null })).toThrow(/not collated/);
    expect(lookupCondition('name', name, undefined, 'abc')).toEqual({ sql: '`name` = ?', params: ['abc'] });
    // Where LIKE compares as = does, a LIKE range (which the index serves) narrows the exact comparison; one value, two parameters.
    const exact = 'LEFT(`name`, 4) = LEFT(CONVERT(? USING utf8mb4), 4) COLLATE utf8mb4_general_ci';
    expect(lookupCondition('name', name, 4, 'abcdX')).toEqual({
      sql: "`name` LIKE (CONCAT(REPLACE(REPLACE(REPLACE(RTRIM(LEFT(CONVERT(? USING utf8mb4), 4)), '!', '!!'), '%', '!%'), '_', '!_'), '%') COLLATE utf8mb4_general_ci) ESCAPE '!' AND " + exact,
      params: ['abcdX', 'abcdX'],
    });
    // Under a UCA collation LIKE and = differ (ß = ss): the exact comparison alone.
    expect(lookupCondition('name', { ...name, collation: 'utf8mb4_unicode_ci' }, 4, 'abcdX')).toEqual({ sql: exact.replace('general_ci', 'unicode_ci'), params: ['abcdX'] });
    expect(lookupCondition('code', { name: 'code', charset: null, collation: null }, 3, 'xyz')).toEqual({
      sql: "`code` LIKE CONCAT(REPLACE(REPLACE(REPLACE(LEFT(?, 3), '!', '!!'), '%', '!%'), '_', '!_'), '%') ESCAPE '!' AND LEFT(`code`, 3) = LEFT(?, 3)",
      params: ['xyz', 'xyz'],
    });
    const s = rowsWithWeights('s', 't', [{ columns: ['name'], values: { name: 'abcdX' }, prefixes: { name: 4 } }], { columns: ['id', 'name'], columnMeta: [name] }, [{ column: 'name', prefix: 4 }]);
    expect(s.sql).toContain('AS `drc w name 4`');
    expect(s.sql).toContain("WHERE `name` LIKE (CONCAT(");
    expect(s.sql).toContain('AND LEFT(`name`, 4) = LEFT(CONVERT(? USING utf8mb4), 4) COLLATE utf8mb4_general_ci FOR UPDATE');
    expect(s.params).toEqual(['abcdX', 'abcdX']);
  });

  it('collate only non-binary strings with names safe to inline', () => {
    expect(collated({ charset: 'latin1', collation: 'latin1_swedish_ci' })).toBe(true);
    expect(collated({ charset: null, collation: null })).toBe(false);
    expect(collated({ charset: 'binary', collation: 'binary' })).toBe(false);
    expect(collated({ charset: 'utf8mb4', collation: "x'; DROP TABLE t; --" })).toBe(false);
  });

  it('read both claim tables, record into one, purge by age', () => {
    expect(findClaims(['00'.repeat(32)]).sql).toContain('drc_meta.local_claims');
    expect(recordClaimsStatement([])).toBeUndefined();
    const s = recordClaimsStatement([{ id: 'ab'.repeat(32), schema: 's', table: 't', columns: ['e'], rank: { version: '1', text: Buffer.from('x'), hash: Buffer.alloc(32) }, key: { id: 1 }, origin: 'a' }], 'local_claims')!;
    expect(s.sql).toContain('INSERT INTO drc_meta.local_claims');
    // The compared columns are assigned last, version last of all (see recordClaimsStatement).
    expect(s.sql.indexOf('rank_hash = IF')).toBeLessThan(s.sql.indexOf('rank_text = IF'));
    expect(s.sql.indexOf('rank_text = IF')).toBeLessThan(s.sql.indexOf('version = IF'));
    expect(purgeClaimsStatement('unique_claims', 1000).params).toEqual([1_000_000, 5000]);
  });

  it('a stale claim (a copy that beat a claim SOURCE never saw) is dropped from both tables, never recorded', () => {
    const claim = { id: 'ab'.repeat(32), schema: 's', table: 't', columns: ['e'], rank: { version: '5', text: Buffer.from('x'), hash: Buffer.alloc(32, 1) }, key: { id: 1 }, origin: 'drc-bootstrap' };
    expect(recordClaimsStatement([{ ...claim, staleUpTo: '9' }])).toBeUndefined();
    expect(recordClaimsStatement([{ ...claim, staleUpTo: '9' }, claim])!.params).toHaveLength(9);
    expect(dropStaleClaimsStatements([claim])).toEqual({ unique: [], local: [] });
    const { unique: [unique], local: [local] } = dropStaleClaimsStatements([{ ...claim, staleUpTo: '9' }]);
    expect(unique!.sql).toMatch(/^UPDATE drc_meta.unique_claims SET origin = ''/);
    expect(local!.sql).toMatch(/^DELETE FROM drc_meta.local_claims/);
    // Only claims up to the horizon that beat the copied image's rank.
    expect(local!.params).toEqual([Buffer.from(claim.id, 'hex'), '9', '5', claim.rank.text, claim.rank.hash]);
    expect(unique!.params.slice(1)).toEqual(local!.params);
  });

  it('weigh values of entries with different non-NULL columns in one UNION of equal column lists', () => {
    const meta = { columns: new Set(['id', 'u1', 'u2']), columnMeta: ['u1', 'u2'].map((name) => ({ name, dataType: 'varchar', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' })) };
    const s = valueWeights([{ values: { u1: 'a' }, columns: ['u1'] }, { values: { u2: 'b' }, columns: ['u2'] }], meta as never);
    const parts = s.sql.split(' UNION ALL ');
    expect(parts).toHaveLength(2);
    expect(parts.map((p) => p.split(' AS `').length - 1)).toEqual([3, 3]);
    expect(parts[0]).toContain('NULL AS');
    expect(s.params).toEqual(['a', 'b']);
  });

  it('lock claims in id order, creating placeholders findClaims skips', () => {
    const s = lockClaims(['bb'.repeat(32), 'aa'.repeat(32)]);
    expect(s.sql).toContain('ON DUPLICATE KEY UPDATE claim_hash = claim_hash');
    expect((s.params[0] as Buffer).toString('hex')).toBe('aa'.repeat(32));
    expect(findClaims(['aa'.repeat(32)]).sql).toContain("origin <> ''");
  });
});
