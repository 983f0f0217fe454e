import { describe, expect, it } from 'vitest';
import { GroupScheduler } from './group-scheduler.js';

/** A group whose execution the test finishes by hand; commits wait for the predecessor, as the executor does. */
interface TestGroup {
  name: string;
  finish: () => void;
  finished: Promise<void>;
}

function group(name: string): TestGroup {
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  return { name, finish, finished };
}

function harness(workers: number) {
  const log: string[] = [];
  const slots: Record<string, number> = {};
  let running = 0;
  let maxRunning = 0;
  const failures: Error[] = [];
  const scheduler = new GroupScheduler<TestGroup>(
    workers,
    async (g, slot, previous) => {
      slots[g.name] = slot;
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${g.name}`);
      await g.finished;
      await previous; // source order
      log.push(`commit ${g.name}`);
      running--;
    },
    (err) => failures.push(err),
  );
  return { scheduler, log, slots, failures, maxRunning: () => maxRunning };
}

const ws = (...keys: string[]) => new Set(keys);
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('GroupScheduler', () => {
  it('commits in source order while groups run in parallel on distinct slots', async () => {
    const h = harness(3);
    const [a, b, c] = [group('a'), group('b'), group('c')];
    await h.scheduler.dispatch(a, ws('t|1'));
    await h.scheduler.dispatch(b, ws('t|2'));
    await h.scheduler.dispatch(c, ws('t|3'));
    await tick();
    expect(h.log).toEqual(['start a', 'start b', 'start c']);
    expect(h.slots).toEqual({ a: 0, b: 1, c: 2 });
    c.finish();
    b.finish();
    await tick();
    expect(h.log).not.toContain('commit b'); // b is done but waits for a
    a.finish();
    await h.scheduler.lastCommit;
    expect(h.log.filter((l) => l.startsWith('commit'))).toEqual(['commit a', 'commit b', 'commit c']);
  });

  it('holds a group that overlaps the write set of an uncommitted one until it committed', async () => {
    const h = harness(4);
    const [a, b, c] = [group('a'), group('b'), group('c')];
    await h.scheduler.dispatch(a, ws('t|1', 't|uk|x'));
    const bDispatched = h.scheduler.dispatch(b, ws('t|2', 't|uk|x')); // same unique value as a
    await tick();
    expect(h.log).toEqual(['start a']);
    a.finish();
    await bDispatched;
    expect(h.log).toEqual(['start a', 'commit a', 'start b']);
    await h.scheduler.dispatch(c, ws('t|3'));
    b.finish();
    c.finish();
    await h.scheduler.lastCommit;
    expect(h.log.slice(-2)).toEqual(['commit b', 'commit c']);
  });

  it('never runs more groups than workers, and reuses the lowest free slot', async () => {
    const h = harness(2);
    const gs = ['a', 'b', 'c', 'd'].map(group);
    await h.scheduler.dispatch(gs[0]!, ws('1'));
    await h.scheduler.dispatch(gs[1]!, ws('2'));
    const third = h.scheduler.dispatch(gs[2]!, ws('3'));
    await tick();
    expect(h.scheduler.size).toBe(2);
    expect(h.log).toEqual(['start a', 'start b']);
    gs[0]!.finish();
    await third;
    expect(h.slots.c).toBe(0);
    const fourth = h.scheduler.dispatch(gs[3]!, ws('4'));
    gs[1]!.finish();
    await fourth;
    expect(h.slots.d).toBe(1);
    gs[2]!.finish();
    gs[3]!.finish();
    await h.scheduler.lastCommit;
    expect(h.maxRunning()).toBe(2);
    expect(h.failures).toEqual([]);
  });

  it('does not start a group once a recovery abandoned the generation it was formed in', async () => {
    const h = harness(1);
    const [a, b] = [group('a'), group('b')];
    await h.scheduler.dispatch(a, ws('1'));
    const generation = h.scheduler.generation;
    const bDispatched = h.scheduler.dispatch(b, ws('2'), generation);
    const abandoned = h.scheduler.abandon();
    expect(h.scheduler.isCurrent(generation)).toBe(false);
    a.finish();
    await abandoned;
    expect(await bDispatched).toBe(false);
    expect(h.log).toEqual(['start a', 'commit a']);
    expect(h.scheduler.size).toBe(0);
  });

  it('reports a failed group', async () => {
    const failures: Error[] = [];
    const scheduler = new GroupScheduler<string>(2, async () => Promise.reject(new Error('boom')), (err) => failures.push(err));
    await scheduler.dispatch('a', ws('1'));
    await scheduler.settle();
    await tick();
    expect(failures.map((e) => e.message)).toEqual(['boom']);
  });
});
