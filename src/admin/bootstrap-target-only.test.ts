import { describe, expect, it } from 'vitest';
import type { PlannedTable } from './bootstrap-preflight.js';
import { keyList, orphanWarning, REMOVE_PAGE, removePaged, targetOnlyWhere } from './bootstrap-target-only.js';
import { quarantineOpen } from '../db/quarantine-open.js';
import { zoneIsUtc } from '../db/time-zone.js';

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

describe('zoneIsUtc (DATETIME versions compared with the horizon only where writers write UTC)', () => {
  it('accepts UTC spelled as an offset or a name, and SYSTEM on a UTC host', () => {
    for (const z of ['+00:00', 'UTC', 'Etc/UTC', 'GMT']) expect(zoneIsUtc(z, 'CET')).toBe(true);
    expect(zoneIsUtc('SYSTEM', 'UTC')).toBe(true);
  });

  it('refuses a zone away from UTC, named or by offset, and SYSTEM on a host away from UTC', () => {
    for (const z of ['-08:00', '+01:00', 'America/Los_Angeles', 'Europe/London']) expect(zoneIsUtc(z, 'UTC')).toBe(false);
    expect(zoneIsUtc('SYSTEM', 'PST')).toBe(false);
  });
});

describe('quarantineOpen (no removal for a table SOURCE has set a transaction of aside)', () => {
  const source = (quarantined: string[], exists = true) => ({
    query: async (_sql: string, params: unknown[]) => {
      if (!exists) throw Object.assign(new Error("Table 'drc_meta.quarantine' doesn't exist"), { code: 'ER_NO_SUCH_TABLE', errno: 1146 });
      return [quarantined.includes(String(params[0])) ? [{ 1: 1 }] : [], undefined];
    },
  });
  it('is true for a table a quarantined transaction writes, false otherwise and without the table', async () => {
    const q = (s: ReturnType<typeof source>, t: string) => quarantineOpen(s as never, 's', t);
    expect(await q(source(['s.t']), 't')).toBe(true);
    expect(await q(source(['s.other']), 't')).toBe(false);
    expect(await q(source([], false), 't')).toBe(false);
  });
});

describe('removePaged (a TARGET far longer than SOURCE is removed page by page, keys only, version bounded in SQL)', () => {
  it('reads keys a page at a time after the last one, and hands each page to the remover', async () => {
    const t = { ...table([col('id', 'int')]) };
    t.table = { ...t.table, columns: [col('id', 'int'), col('updated_at', 'datetime')] };
    const all = Array.from({ length: 2 * REMOVE_PAGE + 200 }, (_, i) => [Buffer.from(String(i + 1)).toString('hex')]);
    const queries: { sql: string; values: unknown[] }[] = [];
    const target = {
      query: async (q: { sql: string; values: unknown[] }) => {
        queries.push(q);
        const from = queries.length === 1 ? 0 : all.findIndex((k) => k[0] === q.values[q.values.length - 1]) + 1;
        return [all.slice(from, from + REMOVE_PAGE), undefined];
      },
    };
    const pages: number[] = [];
    const remover = { removeTargetOnly: async (_s: string, _t: string, _v: string, where: { params: unknown[] }) => (pages.push(where.params.length), where.params.length) };
    const horizon = (1_700_000_000_000_000n).toString();
    const removed = await removePaged(target as never, remover, t, { sql: 'TRUE', params: [] }, horizon);
    expect(removed).toBe(all.length);
    expect(pages).toEqual([REMOVE_PAGE, REMOVE_PAGE, 200]);
    expect(queries[0]!.sql).toMatch(/^SELECT HEX\(.*\) FROM `s`\.`t` WHERE \(TRUE\) AND \(`updated_at` <= \?\) ORDER BY `id` LIMIT 500$/);
    expect(queries[0]!.values).toEqual(['2023-11-14 22:13:20.000000']);
    expect(queries[1]!.sql).toMatch(/AND \(`id` > /);
  });
});

describe('orphanWarning (orphans of a cycle kept: the final comparison fails with a hint, not without one)', () => {
  it('names the table, how many, the cause and the fix; nothing when none was kept', () => {
    expect(orphanWarning('app.node', { removed: 3, kept: 0 })).toBeUndefined();
    const w = orphanWarning('app.node', { removed: 0, kept: 2, why: 'its version column is not the time of the write' })!;
    expect(w).toMatch(/^app\.node: 2 row\(s\) left in TARGET without their parent .*foreign-key cycle.*: its version column is not the time of the write — .*drc verify --repair/);
  });
});
