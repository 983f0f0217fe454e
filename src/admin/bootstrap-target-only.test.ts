import { describe, expect, it } from 'vitest';
import type { PlannedTable } from './bootstrap-preflight.js';
import { keyList, targetOnlyWhere } from './bootstrap-target-only.js';

const col = (name: string, dataType: string) => ({ name, dataType, columnType: dataType, charset: null, collation: null, generated: false });
const table = (pk: ReturnType<typeof col>[]): PlannedTable => ({
  table: { schema: 's', table: 't', pk, columns: pk, types: {} },
  versionColumn: 'updated_at',
  missingInTarget: false,
  cyclic: false,
  parents: [],
  timeVersioned: true,
});

describe('targetOnlyWhere', () => {
  const one = table([col('id', 'int')]);

  it("selects the chunk's range without the chunk's keys, bounded on both sides", () => {
    const w = targetOnlyWhere(one, ['31'], ['3939'], [['3332'], ['3339']]);
    expect(w.sql).toBe('`id` > CAST(CONVERT(UNHEX(?) USING utf8mb4) AS SIGNED) AND `id` <= CAST(CONVERT(UNHEX(?) USING utf8mb4) AS SIGNED) AND `id` NOT IN (CAST(CONVERT(UNHEX(?) USING utf8mb4) AS SIGNED), CAST(CONVERT(UNHEX(?) USING utf8mb4) AS SIGNED))');
    expect(w.params).toEqual(['31', '3939', '3332', '3339']);
  });

  it('is open before the first chunk and after the last, and an empty last chunk selects everything after its start', () => {
    expect(targetOnlyWhere(one, undefined, ['35'], [['35']]).sql).not.toMatch(/>/);
    expect(targetOnlyWhere(one, ['35'], undefined, [['36']]).sql).not.toMatch(/<=/);
    expect(targetOnlyWhere(one, ['35'], undefined, [])).toEqual({ sql: '`id` > CAST(CONVERT(UNHEX(?) USING utf8mb4) AS SIGNED) AND TRUE', params: ['35'] });
  });

  it('lists composite keys as row constructors', () => {
    const two = table([col('a', 'int'), col('b', 'varbinary')]);
    expect(keyList(two, [['31', 'FF']], false)).toEqual({ sql: '(`a`, `b`) IN ((CAST(CONVERT(UNHEX(?) USING utf8mb4) AS SIGNED), UNHEX(?)))', params: ['31', 'FF'] });
    expect(keyList(two, [], false).sql).toBe('FALSE');
  });
});
