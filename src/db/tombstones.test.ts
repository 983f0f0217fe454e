import { describe, expect, it } from 'vitest';
import { keyIdentityOf, legacyKeyHash } from './key-identity.js';
import { findTombstonesStatement, newestTombstones, newestTombstoneStatement, recordTombstonesStatement } from './tombstones.js';

const identity = keyIdentityOf([{ name: 'id', dataType: 'varchar', columnType: 'varchar(8)', charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }]);

describe('tombstone statements', () => {
  it('record a tombstone under the server identity of its key, with the exact key text beside it', () => {
    const s = recordTombstonesStatement('tombstones', [{ schema: 's', table: 't', key: { id: 'Alice' }, version: '5', origin: 'a', identity }]);
    expect(s?.sql).toContain('VALUES (?, ?, UNHEX(SHA2(CONCAT(?, HEX(WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE utf8mb4_general_ci AS CHAR(8))), ?), 256)), ?, ?, ?, UTC_TIMESTAMP(6), ?, 2, ?, ?, ?)');
    expect(s?.sql).toContain('identity_version = IF(VALUES(version) >= version, 2, identity_version),');
    // row_version is assigned first: it compares against the version before it is replaced.
    expect(s!.sql.indexOf('row_version = IF(VALUES(version) >= version')).toBeLessThan(s!.sql.indexOf('version = GREATEST(version, VALUES(version))'));
    expect(s?.params).toEqual(['s', 't', '[["id",{"w":"', 'Alice', '"}]]', '[["id","Alice"]]', '5', 'a', null, null, '5', 'a']);
    // A key change's tombstone of its old key says where the row went; the newest event's destination is kept.
    const moved = recordTombstonesStatement('tombstones', [{ schema: 's', table: 't', key: { id: 'Alice' }, version: '5', origin: 'a', identity, movedTo: { id: 'Bob' } }]);
    expect(moved?.params.slice(-4)).toEqual(['{"id":"Bob"}', null, null, null]); // a key change is no delete: delete_version stays
    expect(moved?.sql).toContain('moved_to = IF(VALUES(version) >= version, VALUES(moved_to), moved_to)');
    expect(recordTombstonesStatement('tombstones', [])).toBeUndefined();
  });

  it('look keys up by identity and by the legacy hash, each tagged with its index, in both tables', () => {
    const s = findTombstonesStatement('s', 't', [{ id: 'a' }, { id: 'b' }], identity);
    expect(s.sql).toMatch(/^WITH k AS \(SELECT 0 AS i, UNHEX\(.*\) AS h, 0 AS p UNION ALL SELECT 0, \?, 0 UNION ALL SELECT 1, UNHEX\(.*\), 0 UNION ALL SELECT 1, \?, 0\) /);
    expect(s.sql).toContain('JOIN drc_meta.tombstones t ON t.schema_name = ? AND t.table_name = ? AND t.key_hash = k.h AND (k.p = 0 OR t.identity_version = 1) UNION ALL');
    expect(s.sql).toContain('JOIN drc_meta.applied_tombstones t');
    expect(s.params).toEqual(['[["id",{"w":"', 'a', '"}]]', legacyKeyHash({ id: 'a' }), '[["id",{"w":"', 'b', '"}]]', legacyKeyHash({ id: 'b' }), 's', 't', 's', 't']);
  });

  it('where a padded weight may be cut (a UCA collation, a value not all printable ASCII), also look up the padded identity, in identity version 1 rows only', () => {
    const uca = keyIdentityOf([{ name: 'id', dataType: 'varchar', columnType: 'varchar(3)', charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' }]);
    const s = findTombstonesStatement('s', 't', [{ id: 'kßz' }, { id: 'kss' }], uca);
    expect(s.sql.match(/, 1 UNION ALL|, 1\)/g)).toHaveLength(1); // one padded lookup: of 'kßz'
    expect(s.params.filter((p) => p === 'kßz')).toHaveLength(9); // the exact form binds it eight times, the padded form once
    expect(s.params.filter((p) => p === 'kss')).toHaveLength(1); // printable ASCII: the padded form is exact
    const newest = newestTombstoneStatement('s', 't', { id: 'kßz' }, uca);
    expect(newest.sql).toContain('(key_hash = UNHEX(SHA2(CONCAT(?, IF(SUBSTRING(WEIGHT_STRING(');
    expect(newest.sql).toContain('AS CHAR(3))), ?), 256)) AND identity_version = 1))');
    expect(newestTombstoneStatement('s', 't', { id: 'kss' }, uca).sql).not.toContain('identity_version');
  });

  it('keep the newest tombstone per key index', () => {
    const rows = [
      { i: 1, version: '7', origin: 'a' },
      { i: 1, version: '9', origin: 'b' },
      { i: 1, version: '8', origin: 'c' },
    ] as never;
    expect(newestTombstones(rows, 3)).toEqual([undefined, { version: '9', origin: 'b' }, undefined]);
  });
});
