import { describe, expect, it } from 'vitest';
import type { RowChange } from '../model/change.js';
import type { Row } from '../model/value.js';
import { columnTypesOf } from '../model/types/row.js';
import { compareImages, matches, resolve, type Decision } from './resolver.js';

const VC = 'updated_at';
const T = (s: number) => `2030-01-01 00:00:${String(s).padStart(2, '0')}.000000`;
const V = (s: number) => String((Date.UTC(2030, 0, 1) + s * 1000) * 1000);
const row = (v: string, s: number): Row => ({ id: 1, v, [VC]: T(s) });

const ins = (after: Row, version = V(Number(String(after[VC]).slice(-9, -7)))): RowChange => ({ schema: 's', table: 't', op: 'insert', key: { id: 1 }, after, version });
const upd = (before: Row, after: Row): RowChange => ({ schema: 's', table: 't', op: 'update', key: { id: 1 }, before, after, version: V(Number(String(after[VC]).slice(-9, -7))) });
const del = (before: Row, version: string): RowChange => ({ schema: 's', table: 't', op: 'delete', key: { id: 1 }, before, version });

/** Tombstones here come from another origin ('b') than the change ('a'), unless said otherwise. */
const decide = (change: RowChange, local: Row | null, tombstone: string | null = null, versionColumn: string | null = VC, tombstoneOrigin = 'b'): Decision =>
  resolve({ change, local, tombstones: tombstone === null ? [] : [{ version: tombstone, origin: tombstoneOrigin }], origin: 'a', versionColumn });

describe('insert / update onto an existing row', () => {
  it('applies an update whose before-image matches the local row, without a conflict', () => {
    expect(decide(upd(row('a', 1), row('b', 2)), row('a', 1))).toEqual({ action: 'update', next: row('b', 2) });
  });

  it('treats an identical image as a replay: nothing to do, no conflict', () => {
    expect(decide(ins(row('a', 1)), row('a', 1))).toEqual({ action: 'none', next: row('a', 1) });
    expect(decide(upd(row('x', 0), row('a', 1)), row('a', 1))).toEqual({ action: 'none', next: row('a', 1) });
  });

  it('lets the newer version win a diverged update (rule 2)', () => {
    expect(decide(upd(row('a', 1), row('b', 5)), row('c', 3))).toMatchObject({ action: 'update', conflict: { reason: 'update-diverged', decision: 'applied' } });
    expect(decide(upd(row('a', 1), row('b', 2)), row('c', 3))).toMatchObject({ action: 'none', conflict: { reason: 'update-diverged', decision: 'skipped' } });
  });

  it('breaks a version tie by content, the same way from both sides (never "keep local")', () => {
    const x = row('from-a', 7);
    const y = row('from-b', 7);
    const inA = decide(upd(row('s', 1), y), x); // a holds x, receives y
    const inB = decide(upd(row('s', 1), x), y); // b holds y, receives x
    expect([inA.next, inB.next]).toEqual([y, y]);
    expect([inA.conflict?.decision, inB.conflict?.decision]).toEqual(['applied', 'skipped']);
  });

  it('records insert onto an existing, different row as a conflict decided by version', () => {
    expect(decide(ins(row('new', 9)), row('old', 3))).toMatchObject({ action: 'update', conflict: { reason: 'insert-exists', decision: 'applied' } });
    expect(decide(ins(row('new', 2)), row('old', 3))).toMatchObject({ action: 'none', conflict: { reason: 'insert-exists', decision: 'skipped' } });
  });

  it('ranks a NULL version below any version', () => {
    const local: Row = { id: 1, v: 'l', [VC]: null };
    expect(decide(upd(row('x', 0), row('b', 1)), local)).toMatchObject({ action: 'update', conflict: { decision: 'applied' } });
  });

  it('without a version column, the last arrival wins but the divergence is still recorded', () => {
    const change: RowChange = { schema: 's', table: 't', op: 'update', key: { id: 1 }, before: { id: 1, v: 'a' }, after: { id: 1, v: 'b' } };
    expect(decide(change, { id: 1, v: 'c' }, null, null)).toMatchObject({ action: 'update', conflict: { reason: 'update-diverged', decision: 'applied' } });
  });

  it('compares only the columns the incoming image has (the target may have more)', () => {
    expect(matches({ id: 1, v: 'a', extra: 5 }, { id: 1, v: 'a' })).toBe(true);
    expect(decide(upd({ id: 1, v: 'a', [VC]: T(1) }, row('b', 2)), { ...row('a', 1), extra: 5 })).toMatchObject({ action: 'update' });
  });
});

describe('insert / update of a missing row (rule 3)', () => {
  it('applies the full after-image; an update of a missing row is recorded', () => {
    expect(decide(ins(row('a', 1)), null)).toEqual({ action: 'insert', next: row('a', 1) });
    expect(decide(upd(row('a', 1), row('b', 2)), null)).toMatchObject({ action: 'insert', conflict: { reason: 'update-missing', decision: 'applied' } });
  });

  it('skips it when a tombstone is at least as new', () => {
    expect(decide(upd(row('a', 1), row('b', 2)), null, V(2))).toMatchObject({ action: 'none', conflict: { reason: 'tombstone-newer', decision: 'skipped' } });
    expect(decide(ins(row('a', 1)), null, V(5))).toMatchObject({ action: 'none', conflict: { reason: 'tombstone-newer' } });
    expect(decide(ins(row('a', 6)), null, V(5))).toMatchObject({ action: 'insert' });
  });
});

describe('deletes (rule 4)', () => {
  it('deletes a matching row and always leaves a tombstone', () => {
    expect(decide(del(row('a', 1), V(9)), row('a', 1))).toEqual({ action: 'delete', next: null, tombstone: V(9) });
  });

  it('deletes a diverged row iff the delete is at least as new', () => {
    expect(decide(del(row('a', 1), V(5)), row('c', 5))).toMatchObject({ action: 'delete', tombstone: V(5), conflict: { reason: 'delete-diverged', decision: 'applied' } });
    expect(decide(del(row('a', 1), V(4)), row('c', 5))).toMatchObject({ action: 'none', tombstone: V(4), conflict: { reason: 'delete-diverged', decision: 'skipped' } });
  });

  it('records a delete of a missing row, except an identical replay', () => {
    expect(decide(del(row('a', 1), V(5)), null)).toMatchObject({ action: 'none', tombstone: V(5), conflict: { reason: 'delete-missing' } });
    expect(decide(del(row('a', 1), V(5)), null, V(5), VC, 'a')).toEqual({ action: 'none', next: null, tombstone: V(5) });
  });
});

describe("tombstones of the change's own origin (issue 13)", () => {
  it('never hold back a later change of the origin that deleted the key', () => {
    // The origin's stream is ordered: its insert after its own delete is causally later, whatever the versions.
    expect(decide(ins(row('a', 1)), null, V(5), VC, 'a')).toEqual({ action: 'insert', next: row('a', 1) });
    expect(decide(upd(row('x', 0), row('a', 1)), null, V(5), VC, 'a')).toMatchObject({ action: 'insert', conflict: { reason: 'update-missing', decision: 'applied' } });
  });

  it("hold it back when another origin's tombstone is at least as new, whatever its own say", () => {
    const change = ins(row('a', 1));
    const both = resolve({ change, local: null, tombstones: [{ version: V(9), origin: 'a' }, { version: V(1), origin: 'c' }], origin: 'a', versionColumn: VC });
    expect(both).toMatchObject({ action: 'none', conflict: { reason: 'tombstone-newer' } });
    const older = resolve({ change, local: null, tombstones: [{ version: V(9), origin: 'a' }, { version: V(0), origin: 'c' }], origin: 'a', versionColumn: VC });
    expect(older).toEqual({ action: 'insert', next: row('a', 1) });
  });
});

describe('convergence with counter versions: a deletes and re-inserts with a fresh counter, c writes concurrently', () => {
  // BIGINT version column 'n'. Three ezones, one key at version 5 everywhere: a deletes it and
  // re-inserts it (version 1); c makes concurrent changes (an update raises the counter); b only
  // receives. (Not covered, README: a concurrent change whose version falls between the re-insert's
  // and the delete's — the counter is not monotonic across the delete.) Each ezone applies the others'
  // streams in every interleaving (each stream in order); all must end with the same row.
  const N = 'n';
  const r = (v: string, n: number): Row => ({ id: 1, v, [N]: String(n) });
  const base = r('base', 5);
  const change = (op: RowChange['op'], before: Row | null, after: Row | null): RowChange => ({
    schema: 's',
    table: 't',
    op,
    key: { id: 1 },
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
    version: String((after ?? before)?.[N]),
  });
  const fromA = [change('delete', base, null), change('insert', null, r('again', 1))];
  const fromC: Record<string, RowChange[]> = {
    'update@6': [change('update', base, r('c', 6))],
    'update@9': [change('update', base, r('c', 9))],
    // Both delete the same row: the re-insert meets c's tombstone (5 >= 1) in b, and c's delete
    // removes it in a — per-origin tombstones keep c's mark although a's has the same version.
    'delete@5': [change('delete', base, null)],
    'delete@5 then insert@2': [change('delete', base, null), change('insert', null, r('c-again', 2))],
  };
  type State = { row: Row | null; marks: { version: string; origin: string }[] };
  const local = (s: State, c: RowChange, self: string): State => ({ row: c.after ?? null, marks: c.op === 'delete' ? [...s.marks, { version: c.version as string, origin: self }] : s.marks });
  const remote = (s: State, c: RowChange, origin: string): State => {
    const d = resolve({ change: c, local: s.row, tombstones: s.marks, origin, versionColumn: N });
    const marks = d.tombstone === undefined ? s.marks : [...s.marks.filter((m) => m.origin !== origin), { version: d.tombstone, origin }];
    return { row: d.next, marks };
  };
  /** Every merge of two ordered streams. */
  const merges = <T>(x: T[], y: T[]): T[][] => (x.length === 0 ? [y] : y.length === 0 ? [x] : [...merges(x.slice(1), y).map((m) => [x[0] as T, ...m]), ...merges(x, y.slice(1)).map((m) => [y[0] as T, ...m])]);

  for (const [name, cs] of Object.entries(fromC)) {
    it(`c: ${name}`, () => {
      const start: State = { row: base, marks: [] };
      const inA = cs.reduce((s, c) => remote(s, c, 'c'), fromA.reduce((s, c) => local(s, c, 'a'), start));
      const inC = fromA.reduce((s, c) => remote(s, c, 'a'), cs.reduce((s, c) => local(s, c, 'c'), start));
      const tagged = (list: RowChange[], origin: string) => list.map((change) => ({ change, origin }));
      const inB = merges(tagged(fromA, 'a'), tagged(cs, 'c')).map((order) => order.reduce((s, { change, origin }) => remote(s, change, origin), start).row);
      expect(inC.row).toEqual(inA.row);
      for (const row of inB) expect(row).toEqual(inA.row);
    });
  }

  it('without c, the re-insert survives everywhere', () => {
    const inB = fromA.reduce((s, c) => remote(s, c, 'a'), { row: base, marks: [] } as State);
    expect(inB.row).toEqual(r('again', 1));
  });
});

describe('convergence: every interleaving of two concurrent writes ends the same in both ezones', () => {
  // Two ezones start from the same row; each makes one change; each then applies the other's.
  const base = row('base', 1);
  const writes: { name: string; make: (ez: string, s: number) => { change: RowChange; after: Row | null } }[] = [
    { name: 'update', make: (ez, s) => ({ change: upd(base, row(ez, s)), after: row(ez, s) }) },
    { name: 'delete', make: (_ez, s) => ({ change: del(base, V(s)), after: null }) },
  ];
  for (const w1 of writes) {
    for (const w2 of writes) {
      for (const [s1, s2] of [
        [3, 5],
        [5, 3],
        [4, 4],
      ] as const) {
        it(`${w1.name}@${s1} in a vs ${w2.name}@${s2} in b`, () => {
          const a = w1.make('a', s1);
          const b = w2.make('b', s2);
          const tombA = a.after === null ? a.change.version! : null;
          const tombB = b.after === null ? b.change.version! : null;
          const inA = decide(b.change, a.after, tombA).next;
          const inB = decide(a.change, b.after, tombB).next;
          expect(inA).toEqual(inB);
        });
      }
    }
  }
});

describe('compareImages', () => {
  it('orders by version, then by canonical content', () => {
    expect(compareImages(V(2), row('a', 2), V(1), row('z', 1))).toBe(1);
    expect(compareImages(V(2), row('a', 2), V(2), row('b', 2))).toBe(-1);
    expect(compareImages(V(2), row('a', 2), V(2), row('a', 2))).toBe(0);
  });
});

describe('with the table’s column types (issue 12: exact DOUBLE)', () => {
  const types = columnTypesOf([
    { name: 'id', dataType: 'int' },
    { name: 'd', dataType: 'double' },
    { name: 'f', dataType: 'float' },
    { name: VC, dataType: 'datetime' },
  ]);
  const img = (d: number, f = 1.100000023841858): Row => ({ id: 1, d, f, [VC]: T(7) });
  const typed = (change: RowChange, local: Row | null) => resolve({ change, local, tombstones: [], origin: 'a', versionColumn: VC, types });

  it('applies a DOUBLE update beyond float32 precision (untyped, it looked identical)', () => {
    const change = upd(img(20000000.25), img(20000000.75));
    expect(decide(change, img(20000000.25))).toEqual({ action: 'none', next: img(20000000.25) });
    expect(typed(change, img(20000000.25))).toEqual({ action: 'update', next: img(20000000.75) });
  });

  it('decides equal versions differing only in a DOUBLE the same way from both sides, with a conflict', () => {
    const x = img(20000000.25);
    const y = img(20000000.75);
    const inA = typed(upd(img(1), y), x);
    const inB = typed(upd(img(1), x), y);
    expect([inA.next, inB.next]).toEqual([inA.next, inA.next]);
    expect([inA.conflict, inB.conflict].map((c) => c?.reason)).toEqual(['update-diverged', 'update-diverged']);
    expect([inA.conflict?.decision, inB.conflict?.decision].sort()).toEqual(['applied', 'skipped']);
  });

  it('still treats a FLOAT read back as short text (1.1) as its binlog float32 (a replay is no conflict)', () => {
    expect(matches({ f: 1.1 }, { f: 1.100000023841858 }, types)).toBe(true);
    expect(typed(ins(img(2.5)), { ...img(2.5), f: 1.1 })).toMatchObject({ action: 'none' });
  });
});
