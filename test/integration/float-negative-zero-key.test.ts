/**
 * A FLOAT -0 as a key: written as an underflow (the server stores a -0 parameter as 0), compared as
 * the text '-0' (the underflow, a double, matches no stored -0): copy-applier.ts binds a key through
 * its column type to find the row (removeOvertaken), which found nothing while toParam bound -1e-50.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { insertRows } from '../../src/apply/sql/rows.js';
import { columnType } from '../../src/model/types/registry.js';
import { fromWire } from '../../src/model/value.js';
import { describeWithServers } from '../support/env.js';
import { scenario, type Scenario } from '../support/scenario.js';

describeWithServers('FLOAT -0 as a key', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('is written as -0 and found by a typed key comparison', async () => {
    s = await scenario('float-neg-zero-key', {}, { ezones: ['a'] });
    const db = s.db.a!;
    await db.query('CREATE TABLE f (k FLOAT NOT NULL PRIMARY KEY, v INT NOT NULL)');
    const float = columnType({ dataType: 'float', columnType: 'float' });
    const w = insertRows(s.schema, 'f', [{ k: '-0', v: 1 }], { columns: ['k', 'v'], columnTypes: { k: float } });
    await db.query(w.sql, w.params);
    const [stored] = await db.query<mysql.RowDataPacket[]>('SELECT ATAN2(k, -1) < 0 AS negative FROM f');
    expect(Number(stored[0]!.negative)).toBe(1);
    const [found] = await db.query<mysql.RowDataPacket[]>('SELECT v FROM f WHERE k = ? FOR UPDATE', [fromWire('-0', float)]);
    expect(found.map((r) => r.v)).toEqual([1]);
  });
});
