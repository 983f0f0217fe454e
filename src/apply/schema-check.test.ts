import { describe, expect, it } from 'vitest';
import { SchemaMismatchError } from '../errors.js';
import type { RowChange } from '../model/change.js';
import { checkSchema, fitChange } from './schema-check.js';
import type { TableInfo, TableSource } from './table-cache.js';

const info: TableInfo = { columns: new Set(['id', 'v']), primaryKey: ['id'], uniqueKeys: [] };
const update = (): RowChange => ({ schema: 's', table: 't', op: 'update', key: { id: 1 }, before: { id: 1, v: 1, extra: 'a' }, after: { id: 1, v: 2, extra: 'b' } });

describe('fitChange', () => {
  it('pauses on a column missing here, naming it', () => {
    expect(() => fitChange(update(), info, 'pause')).toThrow(SchemaMismatchError);
    expect(() => fitChange(update(), info, 'pause')).toThrow(/has no column extra here/);
  });

  it('projects the images onto the columns here with drop, leaving the incoming change as it was', () => {
    const change = update();
    const fit = fitChange(change, info, 'drop');
    expect(fit.dropped).toEqual(['extra']);
    expect(fit.change).toEqual({ schema: 's', table: 't', op: 'update', key: { id: 1 }, before: { id: 1, v: 1 }, after: { id: 1, v: 2 } });
    expect(change).toEqual(update());
  });

  it('refuses a primary key that differs from the change’s', () => {
    expect(() => fitChange({ ...update(), key: { id: 1, v: 1 } }, info, 'drop')).toThrow(/has primary key \(id\) here/);
  });

  it('returns the change itself when it fits', () => {
    const change: RowChange = { schema: 's', table: 't', op: 'insert', key: { id: 1 }, after: { id: 1, v: 2 } };
    expect(fitChange(change, info, 'pause').change).toBe(change);
  });
});

describe('checkSchema', () => {
  const tables = (known: Record<string, TableInfo | null>): TableSource => ({ get: async (s, t) => known[`${s}.${t}`] ?? null, uniqueKeysOf: () => [], forget: () => undefined });

  it('pauses on a table missing here, or one without a primary key', async () => {
    await expect(checkSchema([{ change: update(), origin: 'a', txId: 'x' }], tables({}), 'drop', () => undefined)).rejects.toThrow(/does not exist here/);
    await expect(checkSchema([{ change: update(), origin: 'a', txId: 'x' }], tables({ 's.t': { ...info, primaryKey: [] } }), 'drop', () => undefined)).rejects.toThrow(/no primary key here/);
  });

  it('hears of every dropped column', async () => {
    const dropped: string[] = [];
    const { batch, infos } = await checkSchema([{ change: update(), origin: 'a', txId: 'x' }], tables({ 's.t': info }), 'drop', (t, c) => dropped.push(`${t}.${c}`));
    expect(dropped).toEqual(['s.t.extra']);
    expect(batch[0]?.change.after).toEqual({ id: 1, v: 2 });
    expect(infos.get('s.t')).toBe(info);
  });
});
