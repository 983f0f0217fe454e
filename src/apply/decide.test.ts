import { describe, expect, it } from 'vitest';
import type { RowChange } from '../model/change.js';
import { Ownership } from '../model/ownership.js';
import { RoutingBook } from '../model/routing.js';
import { decide, rowKey, type DecideInput } from './decide.js';
import type { TableInfo } from './table-cache.js';

const info: TableInfo = { columns: new Set(['id', 'user_id', 'v', 'updated_at']), primaryKey: ['id'], uniqueKeys: [] };
const noRules = new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: {}, global: {} });
const k = (id: number) => rowKey('s.t', { id });

const ins = (id: number, v: number, version: string): RowChange => ({ schema: 's', table: 't', op: 'insert', key: { id }, after: { id, v, updated_at: version }, version });
/** A delete's version is the larger of its before-image's and its commit time (rule 1). */
const del = (id: number, v: number, rowVersion: string, version: string): RowChange => ({ schema: 's', table: 't', op: 'delete', key: { id }, before: { id, v, updated_at: rowVersion }, version });

function input(changes: RowChange[], over: Partial<DecideInput> = {}): DecideInput {
  const rows = new Map(changes.map((c) => [k(c.key.id as number), null]));
  return {
    batch: changes.map((change) => ({ change, origin: 'a', txId: 'tx1' })),
    infos: new Map([['s.t', info]]),
    rows,
    tombstones: new Map(),
    ownership: noRules,
    versionColumnOf: () => 'updated_at',
    ...over,
  };
}

describe('decide', () => {
  it('inserts a missing row and chains later changes of the batch on the decided state', () => {
    const d = decide(input([ins(1, 1, '10'), del(1, 1, '10', '20'), ins(1, 2, '15')]));
    // The delete (version 20) leaves a tombstone; the later insert (15) of the same origin is causally
    // after it and is applied all the same (resolver.ts).
    expect(d.ops.map((o) => o.kind)).toEqual(['insert', 'delete', 'insert']);
    expect(d.tombstones).toEqual([{ schema: 's', table: 't', key: { id: 1 }, version: '20', origin: 'a', identity: expect.anything() }]);
    expect(d.conflicts).toEqual([]);
  });

  it("holds a change back with another origin's tombstone of the batch, never with its own", () => {
    const i = input([], { rows: new Map([[k(1), { id: 1, v: 1, updated_at: '10' }]]) });
    i.batch = [
      { change: del(1, 1, '10', '20'), origin: 'b', txId: 'b1' },
      { change: ins(1, 2, '15'), origin: 'a', txId: 'a1' },
      { change: ins(1, 3, '16'), origin: 'b', txId: 'b2' },
    ];
    const d = decide(i);
    expect(d.ops.map((o) => [o.kind, o.incoming.origin])).toEqual([['delete', 'b'], ['insert', 'b']]);
    expect(d.conflicts.map((c) => [c.reason, c.decision, c.incoming.origin])).toEqual([['tombstone-newer', 'skipped', 'a']]);
  });

  it("decides a delete its origin follows with an insert of the key as that pair: at the insert's version, alike in every ezone", () => {
    // a: delete id 1 (receipt time 30), re-insert it (statement time 20) in one transaction; b wrote
    // row 1 at 25 concurrently. In a, b's update (25) beats a's row (20); so in b, a's pair must lose.
    const remote = { id: 1, v: 9, updated_at: '25' };
    const inB = decide(input([del(1, 1, '10', '30'), ins(1, 2, '20')], { rows: new Map([[k(1), remote]]) }));
    expect(inB.ops).toEqual([]);
    expect(inB.conflicts.map((c) => [c.reason, c.decision])).toEqual([['delete-diverged', 'skipped'], ['insert-exists', 'skipped']]);
    expect(inB.tombstones.map((t) => t.version)).toEqual(['30']); // the shipped version
    // Against an older row the pair wins: delete, then the insert.
    const older = decide(input([del(1, 1, '10', '30'), ins(1, 2, '20')], { rows: new Map([[k(1), { id: 1, v: 9, updated_at: '15' }]]) }));
    expect(older.ops.map((o) => o.kind)).toEqual(['delete', 'insert']);
    // Also across transactions of the origin (a re-insert within capture's lag); not across origins.
    const across = (second: string) => {
      const i = input([], { rows: new Map([[k(1), remote]]) });
      i.batch = [
        { change: del(1, 1, '10', '30'), origin: 'a', txId: 't1' },
        { change: ins(1, 2, '20'), origin: second, txId: 't2' },
      ];
      return decide(i).ops.map((o) => o.kind);
    };
    expect(across('a')).toEqual([]);
    expect(across('c')).toEqual(['delete']); // c's insert (20) meets a's newer tombstone (30)
  });

  it('applies every row of a primary-key shift (SET id = id + 1, shipped as delete + insert per row) within one transaction', () => {
    // Rows 1..3 shift to 2..4, in descending order as the server does it: each insert meets the
    // tombstone its own transaction just left on that key.
    const changes = [del(3, 3, '10', '30'), ins(4, 3, '30'), del(2, 2, '10', '30'), ins(3, 2, '30'), del(1, 1, '10', '30'), ins(2, 1, '30')];
    const i = input(changes, { rows: new Map([[k(1), { id: 1, v: 1, updated_at: '10' }], [k(2), { id: 2, v: 2, updated_at: '10' }], [k(3), { id: 3, v: 3, updated_at: '10' }], [k(4), null]]) });
    const d = decide(i);
    expect(d.ops.map((o) => [o.kind, o.key.id])).toEqual([['delete', 3], ['insert', 4], ['delete', 2], ['insert', 3], ['delete', 1], ['insert', 2]]);
    expect(d.conflicts).toEqual([]);
  });

  it('skips a change that meets a newer tombstone from the table', () => {
    const d = decide(input([ins(1, 1, '10')], { tombstones: new Map([[k(1), [{ version: '11', origin: 'b' }]]]) }));
    expect(d.ops).toEqual([]);
    expect(d.conflicts[0]?.reason).toBe('tombstone-newer');
  });

  it('does not modify the state it was given', () => {
    const i = input([ins(1, 1, '10'), del(1, 1, '10', '20')]);
    decide(i);
    expect(i.rows.get(k(1))).toBeNull();
    expect(i.tombstones.size).toBe(0);
  });

  it('decides ownership from the origin verdict when the change carries one (rv), whatever the routing here says', () => {
    const rules = { shardCount: 16, routing: [{ shards: '0-15', ezone: 'b' }], tables: {}, global: { 's.t': 'b' } };
    const ownership = new Ownership({ ...rules, policy: 'reject' });
    // Owned by the origin when written (routing here not caught up): applied, no violation.
    const owned = decide(input([{ ...ins(1, 1, '10'), rv: 4 }], { ownership }));
    expect(owned.ops.map((o) => o.kind)).toEqual(['insert']);
    expect(owned.conflicts).toEqual([]);
    // Not owned when written: a violation, whatever the routing here.
    const wrong = decide(input([{ ...ins(1, 1, '10'), rv: 4, wrong: 'c' }], { ownership: new Ownership({ ...rules, routing: [{ shards: '0-15', ezone: 'a' }], global: {}, policy: 'reject' }) }));
    expect(wrong.ops).toEqual([]);
    expect(wrong.conflicts.map((c) => [c.reason, c.decision])).toEqual([['ownership', 'skipped']]);
  });

  it('flags a row its origin wrote before a forced switchover took the shard (rv below the flip), applied by last-writer-wins even under reject', () => {
    const book = new RoutingBook([...Array(16).keys()].map((shard) => ({ shard, owner: 'b', state: 'owned' as const, version: 7, prevOwner: null, movingTo: null })));
    book.setForced([{ switchover: 'so-1', from: 0, to: 15, fromEzone: 'a', toEzone: 'b', version: 7 }]);
    const ownership = new Ownership({ policy: 'reject', shardCount: 16, routing: [], tables: { 's.t': { function: 'hash', column: 'user_id' } }, global: {} }, { routing: book, mode: 'incoming' });
    const row = (id: number, rv: number): RowChange => ({ ...ins(id, 1, '10'), after: { id, v: 1, user_id: id, updated_at: '10' }, rv });
    const late = decide(input([row(1, 6), row(2, 7)], { ownership }));
    expect(late.ops.map((o) => [o.kind, o.key])).toEqual([['insert', { id: 1 }], ['insert', { id: 2 }]]);
    expect(late.conflicts.map((c) => [c.reason, c.decision, c.incoming.change.key])).toEqual([['forced-late', 'applied', { id: 1 }]]);
    // The record says what last-writer-wins made of it: a late row older than the new owner's is skipped.
    const lost = decide(input([row(1, 6)], { ownership, rows: new Map([[k(1), { id: 1, v: 2, user_id: 1, updated_at: '20' }]]) }));
    expect(lost.ops).toEqual([]);
    expect(lost.conflicts.filter((c) => c.reason === 'forced-late').map((c) => c.decision)).toEqual(['skipped']);
    // Another origin's row is no old owner's; a row without the origin's verdict is judged as before.
    const other = input([row(3, 6)], { ownership });
    other.batch = other.batch.map((b) => ({ ...b, origin: 'c' }));
    expect(decide(other).conflicts).toEqual([]);
  });

  it('flags as late only the old owner\'s changes from the forced flip\'s cut on (what the new owner had not applied), judged by the flips read in the transaction', () => {
    const book = new RoutingBook([...Array(16).keys()].map((shard) => ({ shard, owner: 'b', state: 'owned' as const, version: 7, prevOwner: null, movingTo: null })));
    const flip = { switchover: 'so-1', from: 0, to: 15, fromEzone: 'a', toEzone: 'b', version: 7, cut: '40' };
    const ownership = new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: { 's.t': { function: 'hash', column: 'user_id' } }, global: {} }, { routing: book, mode: 'incoming' });
    const at = (id: number, offset: string) => ({ change: { ...ins(id, 1, '10'), after: { id, v: 1, user_id: id, updated_at: '10' }, rv: 6 } as RowChange, origin: 'a', txId: `t${id}`, offset });
    // A new ezone replaying a's topic from its start: offsets 3 and 39 were applied by b before the flip.
    const replay = input([], { ownership });
    replay.batch = [at(1, '3'), at(2, '39'), at(3, '40'), at(4, '41')];
    book.setForced([flip]);
    expect(decide(replay).conflicts.map((c) => c.incoming.change.key)).toEqual([{ id: 3 }, { id: 4 }]);
    // The flips read in the applying transaction judge, not the book's (polled, maybe behind).
    book.setForced([]);
    expect(decide({ ...replay, ownership }).conflicts).toEqual([]);
    expect(decide({ ...replay, ownership, forced: [flip] }).conflicts.map((c) => [c.reason, c.incoming.change.key])).toEqual([
      ['forced-late', { id: 3 }],
      ['forced-late', { id: 4 }],
    ]);
    // A flip without a cut (written by a build before it): every change under the older routing is late.
    expect(decide({ ...replay, ownership, forced: [(({ cut: _cut, ...uncut }) => uncut)(flip)] }).conflicts).toHaveLength(4);
  });

  it('records ownership violations; reject skips the change, report applies it', () => {
    const rules = { shardCount: 16, routing: [{ shards: '0-15', ezone: 'b' }], tables: {}, global: { 's.t': 'b' } };
    const reject = decide(input([ins(1, 1, '10')], { ownership: new Ownership({ ...rules, policy: 'reject' }) }));
    expect(reject.ops).toEqual([]);
    expect(reject.conflicts.map((c) => [c.reason, c.decision])).toEqual([['ownership', 'skipped']]);
    const report = decide(input([ins(1, 1, '10')], { ownership: new Ownership({ ...rules, policy: 'report' }) }));
    expect(report.ops.map((o) => o.kind)).toEqual(['insert']);
    expect(report.conflicts.map((c) => [c.reason, c.decision])).toEqual([['ownership', 'applied']]);
  });

  it('updates an existing row when the incoming version wins, and reports the conflict with the local row', () => {
    const local = { id: 1, v: 0, updated_at: '5' };
    const d = decide(input([ins(1, 1, '10')], { rows: new Map([[k(1), local]]) }));
    expect(d.ops.map((o) => [o.kind, o.image])).toEqual([['update', { id: 1, v: 1, updated_at: '10' }]]);
    expect(d.conflicts).toMatchObject([{ reason: 'insert-exists', decision: 'applied', local }]);
  });

  it('treats keys the server matched to one row as one key (issue 12: collations)', () => {
    // Batch: delete 'alice', then insert 'Alice'; the server answered both keys with the row stored as 'alice'.
    const t = (op: RowChange['op'], id: string, version: string): RowChange =>
      op === 'delete' ? { schema: 's', table: 't', op, key: { id }, before: { id, v: 1, updated_at: '5' }, version } : { schema: 's', table: 't', op, key: { id }, after: { id, v: 2, updated_at: version }, version };
    const stored = rowKey('s.t', { id: 'alice' });
    const d = decide(
      input([t('delete', 'alice', '20'), t('insert', 'Alice', '30')], {
        rows: new Map([[stored, { id: 'alice', v: 1, updated_at: '5' }]]),
        identities: new Map([
          [stored, stored],
          [rowKey('s.t', { id: 'Alice' }), stored],
        ]),
      }),
    );
    // The insert sees the row its own batch deleted: an insert, not an update of a row that is gone.
    expect(d.ops.map((o) => [o.kind, o.key])).toEqual([['delete', { id: 'alice' }], ['insert', { id: 'Alice' }]]);
    expect(d.conflicts).toEqual([]);
  });

  it('does not hold back a respelled key with the tombstone of its old spelling (an UPDATE of the key ships as delete + insert)', () => {
    const stored = rowKey('s.t', { id: 'later-b' });
    const row = { id: 'later-b', v: 1, updated_at: '100' };
    // Whole-second versions: the delete's version (commit time) equals the insert's.
    const d = decide(
      input(
        [
          { schema: 's', table: 't', op: 'delete', key: { id: 'later-b' }, before: row, version: '200' },
          { schema: 's', table: 't', op: 'insert', key: { id: 'Later-B' }, after: { ...row, id: 'Later-B', updated_at: '200' }, version: '200' },
        ],
        { rows: new Map([[stored, row]]), identities: new Map([[stored, stored], [rowKey('s.t', { id: 'Later-B' }), stored]]) },
      ),
    );
    expect(d.ops.map((o) => [o.kind, o.key])).toEqual([['delete', { id: 'later-b' }], ['insert', { id: 'Later-B' }]]);
    expect(d.conflicts).toEqual([]);
  });
});
