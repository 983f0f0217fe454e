/**
 * A unique loser's removal records one thing, whatever the ezone held (issue 13, db/tombstones.ts
 * LOSER_ORIGIN): the image of parent 2 with name n21 (version 100) loses n21 to row 10 (version 300).
 * Where that image is the row here, 10's arrival removes it; where 2 held an older image, the incoming
 * loser replaces and removes it; where 2 is missing, the loser is refused. All three leave the same
 * tombstone of 2 (just below 100, origin LOSER_ORIGIN), and every delete of a row they decide is a
 * removal whose children wait (Op.removal), never an origin's delete.
 */
import { describe, expect, it } from 'vitest';
import { LOSER_ORIGIN } from '../db/tombstones.js';
import type { RowChange } from '../model/change.js';
import { Ownership } from '../model/ownership.js';
import type { Row } from '../model/value.js';
import { decide, rowKey } from './decide.js';
import type { TableInfo } from './table-cache.js';
import type { IncomingChange } from './types.js';
import { claimIdOf, keyClaimColumns, type UniqueInput } from './unique-claims.js';

const TABLE = 's.p';
const info: TableInfo = { columns: new Set(['id', 'name', 'updated_at']), primaryKey: ['id'], uniqueKeys: [['name']] };
const noRules = new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: {}, global: {} });
const k = (id: number) => rowKey(TABLE, { id });
const nameClaim = (name: string) => ({ columns: ['name'], id: claimIdOf('s', 'p', ['name'], [`w:${name}`]) });
const keyClaim = (id: number) => claimIdOf('s', 'p', keyClaimColumns(['id']), [`v:${id}`]);
const row = (id: number, name: string, version: string): Row => ({ id, name, updated_at: version });

function change(op: 'insert' | 'update', after: Row, before?: Row): IncomingChange {
  const c: RowChange = { op, schema: 's', table: 'p', key: { id: after.id as number }, after, ...(before ? { before } : {}), version: after.updated_at as string } as RowChange;
  return { change: c, origin: 'b', txId: 't' };
}

/** decide() over one change, with these rows here (each holding its name). */
function decideWith(incoming: IncomingChange, here: Row[]) {
  const unique: UniqueInput = { incoming: new Map(), rowValues: new Map(), holders: new Map(), holderRows: new Map(), claims: new Map(), keyClaims: new Map(), rowKeyClaims: new Map() };
  const after = incoming.change.after as Row;
  unique.incoming.set(0, [nameClaim(String(after.name))]);
  unique.keyClaims.set(0, keyClaim(after.id as number));
  const rows = new Map<string, Row | null>([[k(after.id as number), null]]);
  for (const r of here) {
    const id = r.id as number;
    unique.rowValues.set(k(id), [nameClaim(String(r.name))]);
    unique.rowKeyClaims.set(k(id), keyClaim(id));
    unique.holders.set(nameClaim(String(r.name)).id, k(id));
    if (id === after.id) rows.set(k(id), r);
    else unique.holderRows.set(k(id), r);
  }
  return decide({ batch: [incoming], infos: new Map([[TABLE, info]]), rows, tombstones: new Map(), unique, ownership: noRules, versionColumnOf: () => 'updated_at' });
}

const stonesOf2 = (d: ReturnType<typeof decide>) => d.tombstones.filter((t) => t.key.id === 2).map((t) => `${t.version}:${t.origin}`);

describe('a unique loser’s removal', () => {
  const loser = row(2, 'n21', '100');

  it('the loser is the row here: 10 removes it, a removal (its children wait), tombstoned as a loser', () => {
    const d = decideWith(change('insert', row(10, 'n21', '300')), [loser]);
    expect(d.ops.map((o) => `${o.kind} ${String(o.key.id)}${o.removal ? ' removal' : ''}`)).toEqual(['delete 2 removal', 'insert 10']);
    expect(stonesOf2(d)).toEqual([`99:${LOSER_ORIGIN}`]);
  });

  it('an older image of 2 is here and the loser arrives: it replaces and removes it — the same tombstone', () => {
    const d = decideWith(change('update', loser, row(2, 'n23', '50')), [row(2, 'n23', '50'), row(10, 'n21', '300')]);
    expect(d.ops.map((o) => `${o.kind} ${String(o.key.id)}${o.removal ? ' removal' : ''}`)).toEqual(['delete 2 removal']);
    expect(stonesOf2(d)).toEqual([`99:${LOSER_ORIGIN}`]);
  });

  it('2 is missing and the loser arrives: refused — the same tombstone, not one of its origin', () => {
    const d = decideWith(change('insert', loser), [row(10, 'n21', '300')]);
    expect(d.ops).toEqual([]);
    expect(stonesOf2(d)).toEqual([`99:${LOSER_ORIGIN}`]);
  });
});
