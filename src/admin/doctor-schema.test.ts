import { describe, expect, it } from 'vitest';
import { keyCollationsCheck, versionColumnTypesCheck, versionColumnUpdatesCheck, type ColumnFact } from './doctor-schema.js';

const col = (over: Partial<ColumnFact>): ColumnFact => ({
  schema: 'app', table: 't', column: 'c', dataType: 'int', nullable: false, precision: null, extra: '', collation: null, inUniqueKey: false, isVersion: false, ...over,
});
const good = col({ column: 'updated_at', dataType: 'datetime', precision: 6, extra: 'on update current_timestamp(6)', isVersion: true });

describe('doctor schema checks', () => {
  it('version column types: warn on nullable and whole-second versions, never on counters or sub-second ones', () => {
    expect(versionColumnTypesCheck('a', [good, col({ column: 'v', dataType: 'bigint', isVersion: true })])).toEqual({ ezone: 'a', check: 'version_column_types', ok: true, message: expect.stringMatching(/^2 version column/) });
    const c = versionColumnTypesCheck('a', [good, col({ table: 'sec', column: 'updated_at', dataType: 'timestamp', precision: 0, isVersion: true }), col({ table: 'n', column: 'v', dataType: 'bigint', nullable: true, isVersion: true }), col({ table: 'other', dataType: 'datetime', precision: 0 })]);
    expect(c).toMatchObject({ ok: true, warning: true });
    expect(c.message).toMatch(/: app\.sec\.updated_at, app\.n\.v — make them NOT NULL DATETIME\(6\)$/);
  });

  it('version column updates: warn on a DATETIME version without ON UPDATE; counters are not judged', () => {
    expect(versionColumnUpdatesCheck('a', [good, col({ dataType: 'bigint', isVersion: true })]).warning).toBeUndefined();
    const c = versionColumnUpdatesCheck('a', [good, col({ table: 'manual', column: 'updated_at', dataType: 'datetime', precision: 6, extra: '', isVersion: true })]);
    expect(c).toMatchObject({ ok: true, warning: true, message: expect.stringMatching(/: app\.manual\.updated_at — add ON UPDATE/) });
  });

  it('key collations: warn on _ci and _ai key columns, not on _bin keys, binary keys or non-key columns', () => {
    const facts = [
      col({ table: 'u', column: 'email', collation: 'utf8mb4_general_ci', inUniqueKey: true }),
      col({ table: 'u', column: 'name', collation: 'utf8mb4_0900_ai_ci', inUniqueKey: true }),
      col({ table: 'u', column: 'code', collation: 'utf8mb4_bin', inUniqueKey: true }),
      col({ table: 'u', column: 'raw', collation: null, inUniqueKey: true }),
      col({ table: 'u', column: 'note', collation: 'utf8mb4_general_ci', inUniqueKey: false }),
    ];
    const c = keyCollationsCheck('b', facts);
    expect(c).toMatchObject({ ezone: 'b', check: 'key_collations', ok: true, warning: true });
    expect(c.message).toMatch(/: app\.u\.email, app\.u\.name — use a _bin collation/);
    expect(keyCollationsCheck('b', facts.slice(2)).warning).toBeUndefined();
  });

  it('names at most 20 columns, then how many more', () => {
    const many = Array.from({ length: 25 }, (_, i) => col({ table: `t${i}`, collation: 'latin1_swedish_ci', inUniqueKey: true }));
    expect(keyCollationsCheck('a', many).message).toMatch(/app\.t19\.c and 5 more — /);
  });
});
