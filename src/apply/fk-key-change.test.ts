import { describe, expect, it } from 'vitest';
import type { RowChange } from '../model/change.js';
import { Ownership } from '../model/ownership.js';
import { decide, rowKey, type DecideInput } from './decide.js';
import { decideKeyChange } from './fk-key-change.js';
import type { TableInfo } from './table-cache.js';
import type { Row } from '../model/value.js';

/** Key change of row `from` to `to`, the row's value `v`, at `version` (the before-image's version `was`). */
const move = (from: number, to: number, version: string, was = '5', v = 'x'): RowChange => ({
  schema: 's',
  table: 't',
  op: 'update',
  key: { id: to },
  oldKey: { id: from },
  before: { id: from, v, updated_at: was },
  after: { id: to, v, updated_at: version },
  version,
});
const row = (id: number, version: string, v = 'x') => ({ id, v, updated_at: version });
const base = { origin: 'b', tombstonesOfNew: [], versionColumn: 'updated_at' };

describe('decideKeyChange (a primary-key change: delete of the old key + insert of the new one, run as one UPDATE)', () => {
  it('moves the row with one UPDATE found by the old key, and tombstones the old key with the change version', () => {
    const d = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: row(1, '5'), atNew: null });
    expect(d.writes).toEqual([{ kind: 'update', key: { id: 1 }, image: row(2, '10') }]);
    expect(d).toMatchObject({ conflicts: [], tombstone: '10', nextOld: null, nextNew: row(2, '10') });
  });

  it('unique keys: when the moved image loses a value and the claims remove the older row at the new key, that row is not written back', () => {
    const lost = { action: 'none' as const, next: null, tombstone: '9' };
    const claims = { releaseOld: () => undefined, judgeNew: () => lost };
    // The old row is newer (it stays), the new key's row older than the image: removed by the claims.
    const stays = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: row(1, '20'), atNew: row(2, '5'), claims });
    expect(stays.writes).toEqual([]);
    expect(stays.nextNew).toBeNull();
    // The old row older (it goes): only its delete — a loser's removal (the moved row lost), whose children wait for the new key.
    const goes = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: row(1, '5'), atNew: row(2, '5'), claims });
    expect(goes.writes).toEqual([{ kind: 'delete', key: { id: 1 }, image: row(1, '5'), removal: true }]);
  });

  it('the old row goes for a newer tombstone of the new key (last-writer-wins, not a lost claim): a plain delete, no removal', () => {
    const d = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: row(1, '5'), atNew: null, tombstonesOfNew: [{ version: '20', origin: 'c' }] });
    expect(d.writes).toEqual([{ kind: 'delete', key: { id: 1 }, image: row(1, '5') }]);
  });

  it('is a no-op replay once applied', () => {
    const d = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: null, atNew: row(2, '10') });
    expect(d.writes).toEqual([]);
    expect(d.conflicts).toEqual([]);
  });

  it('old key missing here: inserts at the new key (update-missing) unless the new key has a newer tombstone', () => {
    const d = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: null, atNew: null });
    expect(d.writes).toEqual([{ kind: 'insert', key: { id: 2 }, image: row(2, '10') }]);
    expect(d.conflicts.map((c) => [c.reason, c.decision])).toEqual([['update-missing', 'applied']]);
    const blocked = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: null, atNew: null, tombstonesOfNew: [{ version: '11', origin: 'c' }] });
    expect(blocked.writes).toEqual([]);
    expect(blocked.conflicts.map((c) => [c.reason, c.decision])).toEqual([['tombstone-newer', 'skipped']]);
  });

  it('new key held by an older row (insert-exists, incoming wins): that row goes, then the same UPDATE', () => {
    const d = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: row(1, '5'), atNew: row(2, '7', 'other') });
    expect(d.writes.map((w) => [w.kind, w.key])).toEqual([
      ['delete', { id: 2 }],
      ['update', { id: 1 }],
    ]);
    expect(d.conflicts.map((c) => [c.reason, c.decision])).toEqual([['insert-exists', 'applied']]);
  });

  it('new key held by a newer row: only the old row is removed, after its children moved to the new key’s row (as the origin’s cascade moved them)', () => {
    const d = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: row(1, '5'), atNew: row(2, '12', 'other') });
    expect(d.writes).toEqual([
      { kind: 'update', key: { id: 2 }, image: row(2, '12', 'other'), moveChildren: true },
      { kind: 'delete', key: { id: 1 }, image: row(1, '5') },
    ]);
    expect(d.conflicts.map((c) => [c.reason, c.decision])).toEqual([['insert-exists', 'skipped']]);
    expect(d.nextNew).toEqual(row(2, '12', 'other'));
  });

  it('old row newer here (updated concurrently): it stays with its children, the new key is written on its own — as delete + insert would decide', () => {
    const d = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: row(1, '11', 'y'), atNew: null });
    expect(d.writes).toEqual([{ kind: 'insert', key: { id: 2 }, image: row(2, '10') }]);
    expect(d.conflicts.map((c) => [c.reason, c.decision])).toEqual([['update-diverged', 'skipped']]);
    expect(d).toMatchObject({ tombstone: '10', nextOld: row(1, '11', 'y') });
  });

  it('both keys newer here: both rows stay as they are, the old row with its children (nothing is written)', () => {
    const d = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: row(1, '11', 'y'), atNew: row(2, '12', 'other') });
    expect(d.writes).toEqual([]);
    expect(d.conflicts.map((c) => [c.reason, c.decision])).toEqual([
      ['update-diverged', 'skipped'],
      ['insert-exists', 'skipped'],
    ]);
  });

  it('new key with a newer tombstone and no row: only the old row is removed (its children go as its ON DELETE action says, as they do in the origin when that delete arrives)', () => {
    const d = decideKeyChange({ ...base, change: move(1, 2, '10'), atOld: row(1, '5'), atNew: null, tombstonesOfNew: [{ version: '11', origin: 'c' }] });
    expect(d.writes).toEqual([{ kind: 'delete', key: { id: 1 }, image: row(1, '5') }]);
  });
});

describe('decide with key changes', () => {
  const info: TableInfo = { columns: new Set(['id', 'v', 'updated_at']), primaryKey: ['id'], uniqueKeys: [] };
  const k = (id: number) => rowKey('s.t', { id });
  const input = (changes: RowChange[], rows: [number, ReturnType<typeof row> | null][]): DecideInput => ({
    batch: changes.map((change) => ({ change, origin: 'a', txId: 'tx1' })),
    infos: new Map([['s.t', info]]),
    rows: new Map(rows.map(([id, r]) => [k(id), r])),
    tombstones: new Map(),
    ownership: new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: {}, global: {} }),
    versionColumnOf: () => 'updated_at',
  });

  it('UPDATE t SET id = id + 1, in the order the server ran it (highest key first): one UPDATE per row, chained, the tombstones of the same transaction not in the way', () => {
    const d = decide(input([move(3, 4, '10', '5', 'c'), move(2, 3, '10', '5', 'b'), move(1, 2, '10', '5', 'a')], [
      [1, row(1, '5', 'a')],
      [2, row(2, '5', 'b')],
      [3, row(3, '5', 'c')],
      [4, null],
    ]));
    expect(d.ops.map((o) => [o.kind, o.key.id, o.image.id])).toEqual([
      ['update', 3, 4],
      ['update', 2, 3],
      ['update', 1, 2],
    ]);
    expect(d.conflicts).toEqual([]);
    expect(d.tombstones.map((t) => t.key.id)).toEqual([3, 2, 1]);
  });

  it('a key only respelled under its collation (one row here) is an update in place, found by the new spelling', () => {
    const text = (id: string, v: string): RowChange => ({ schema: 's', table: 't', op: 'update', key: { id }, oldKey: { id: 'later-b' }, before: { id: 'later-b', v: 'x', updated_at: '5' }, after: { id, v, updated_at: '10' }, version: '10' });
    const one = rowKey('s.t', { id: 'later-b' });
    const i = input([text('Later-B', 'x')], []);
    i.rows = new Map([[one, { id: 'later-b', v: 'x', updated_at: '5' }]]);
    i.identities = new Map([
      [one, one],
      [rowKey('s.t', { id: 'Later-B' }), one],
    ]);
    const d = decide(i);
    expect(d.ops.map((o) => [o.kind, o.key.id, o.image.id])).toEqual([['update', 'Later-B', 'Later-B']]);
    expect(d.conflicts).toEqual([]);
  });

  it('unique keys: a key change moves the holder of its values, so a new row written at the old key later in the batch is not taken for their holder', () => {
    const named = (id: number, name: string, version: string) => ({ id, name, updated_at: version });
    const rekey: RowChange = { schema: 's', table: 't', op: 'update', key: { id: 12 }, oldKey: { id: 10 }, before: named(10, 'n3', '5'), after: named(12, 'n3', '10'), version: '10' };
    const fresh: RowChange = { schema: 's', table: 't', op: 'insert', key: { id: 10 }, after: named(10, 'n5', '11'), version: '11' };
    const claimant: RowChange = { schema: 's', table: 't', op: 'insert', key: { id: 2 }, after: named(2, 'n3', '12'), version: '12' };
    const i = input([rekey, fresh, claimant], []);
    i.infos = new Map([['s.t', { ...info, columns: new Set(['id', 'name', 'updated_at']), uniqueKeys: [['name']] }]]);
    i.rows = new Map<string, Row | null>([
      [k(10), named(10, 'n3', '5')],
      [k(12), null],
      [k(2), null],
    ]);
    const n3 = { id: 'n3', columns: ['name'] };
    i.unique = { incoming: new Map([[0, [n3]], [1, [{ id: 'n5', columns: ['name'] }]], [2, [n3]]]), rowValues: new Map([[k(10), [n3]]]), holders: new Map([['n3', k(10)]]), holderRows: new Map(), claims: new Map(), keyClaims: new Map(), rowKeyClaims: new Map() };
    const d = decide(i);
    // Row 12 (the moved n3, older) loses n3 to row 2; row 10 (n5) holds nothing row 2 claims and stays.
    expect(d.ops.map((o) => [o.kind, o.key.id])).toEqual([
      ['update', 10],
      ['insert', 10],
      ['delete', 12],
      ['insert', 2],
    ]);
  });

  it('a tombstone of another source transaction at least as new still holds the new key back', () => {
    const i = input([move(1, 2, '10')], [
      [1, row(1, '5')],
      [2, null],
    ]);
    i.tombstones.set(k(2), [{ version: '10', origin: 'c' }]);
    const d = decide(i);
    expect(d.ops.map((o) => [o.kind, o.key.id])).toEqual([['delete', 1]]);
    expect(d.conflicts.map((c) => c.reason)).toEqual(['tombstone-newer']);
  });
});
