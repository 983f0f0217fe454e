import { describe, expect, it } from 'vitest';
import type { ForcedFlip } from '../model/routing.js';
import { ForcedFlipRaced, ForcedFlipWatch } from './forced-flips.js';
import type { IncomingChange } from './types.js';

const judged = (origin: string, id: number): IncomingChange => ({ change: { schema: 's', table: 't', op: 'update', key: { id }, after: { id }, rv: 3 }, origin, txId: `t${id}`, offset: String(id) }) as IncomingChange;
const flip = (switchover: string, fromEzone = 'a'): ForcedFlip => ({ switchover, from: 0, to: 7, fromEzone, toEzone: 'b', version: 4, cut: '10' });
/** What the server would answer: the flips of the read's origins (its params after the topology). */
const answer = (read: NonNullable<ReturnType<ForcedFlipWatch['batchRead']>>, flips: ForcedFlip[]) =>
  read.statement.check!(flips.filter((f) => read.statement.params.slice(1).includes(f.fromEzone)).map((f) => ({ id: f.switchover, shard_from: f.from, shard_to: f.to, from_ezone: f.fromEzone, to_ezone: f.toEzone, flip_version: f.version, cut_offset: f.cut ?? null })));

describe('ForcedFlipWatch', () => {
  it('reads nothing and checks nothing without a judged change or a routed topology', () => {
    const unrouted = new ForcedFlipWatch(undefined);
    expect(unrouted.batchRead([judged('a', 1)])).toBeUndefined();
    const watch = new ForcedFlipWatch('drc');
    const unjudged = { ...judged('a', 1), change: { ...judged('a', 1).change, rv: undefined } } as IncomingChange;
    expect(watch.batchRead([unjudged])).toBeUndefined();
    expect(watch.commitCheck()).toBeUndefined();
  });

  it('fixes the flips with the first judged batch; a flip a later batch reads is a race; the commit check names what is known per origin', () => {
    const watch = new ForcedFlipWatch('drc');
    const first = watch.batchRead([judged('a', 1)])!;
    answer(first, [flip('so-1'), flip('so-x', 'c')]);
    expect(first.read.flips?.map((f) => f.switchover)).toEqual(['so-1']);
    watch.assertSame();
    // Another origin's flips are fixed by its own first read.
    answer(watch.batchRead([judged('a', 2), judged('c', 3)])!, [flip('so-1'), flip('so-x', 'c')]);
    watch.assertSame();
    const check = watch.commitCheck()!;
    expect(check.params).toEqual(['drc', 'a', 'so-1', 'c', 'so-x']);
    expect(check.sql).toContain("(s.from_ezone = ? AND s.id NOT IN (?)) OR (s.from_ezone = ? AND s.id NOT IN (?))");
    // A new flip of a's shards, read by a later batch.
    answer(watch.batchRead([judged('a', 4)])!, [flip('so-1'), flip('so-2')]);
    expect(() => watch.assertSame()).toThrow(ForcedFlipRaced);
    watch.reset();
    expect(watch.commitCheck()).toBeUndefined();
  });

  it('tells a failed check (a flip not known) from another failure of the commit round trip', () => {
    const watch = new ForcedFlipWatch('drc');
    answer(watch.batchRead([judged('a', 1)])!, []);
    expect(watch.commitCheck()!.sql).toContain('s.from_ezone = ?)');
    expect(watch.raced([])).toBeUndefined();
    expect(watch.raced([flip('so-9')])).toBeInstanceOf(ForcedFlipRaced);
    expect(new ForcedFlipRaced('so-9').retryable).toBe(true);
  });
});
