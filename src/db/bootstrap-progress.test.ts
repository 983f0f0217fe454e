import { describe, expect, it } from 'vitest';
import { bootstrapCopying } from './bootstrap-progress.js';
import type { Queryable } from './table-keys.js';

/** A target whose bootstrap lock is `held` or not, and whose drc_meta.bootstrap has these `copying` tables. */
function target(held: boolean, copying: string[]): Queryable {
  return {
    query: async (sql: string, params?: unknown[]) => {
      if (sql.includes('IS_USED_LOCK')) return [[{ running: held ? 1 : 0 }], undefined];
      const asked: string[] = [];
      for (let i = 0; i + 1 < (params ?? []).length; i += 2) asked.push(`${String(params![i])}.${String(params![i + 1])}`);
      return [asked.some((t) => copying.includes(t)) ? [{ 1: 1 }] : [], undefined];
    },
  };
}

const parent = [{ schema: 'app', table: 'parent' }];

describe('bootstrapCopying (a child whose parent is missing waits only while the copy of that parent runs)', () => {
  it('is true while the lock is held and the parent table is recorded copying', async () => {
    expect(await bootstrapCopying(target(true, ['app.parent']), 'c', parent)).toBe(true);
  });

  it('is false while the lock is held for a run that does not copy the parent table (--tables naming another)', async () => {
    expect(await bootstrapCopying(target(true, ['app.other']), 'c', parent)).toBe(false);
  });

  it('is false for a run abandoned with the parent table still recorded copying (no lock)', async () => {
    expect(await bootstrapCopying(target(false, ['app.parent']), 'c', parent)).toBe(false);
  });

  it('is false with no parent tables', async () => {
    expect(await bootstrapCopying(target(true, ['app.parent']), 'c', [])).toBe(false);
  });
});
