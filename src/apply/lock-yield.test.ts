import { describe, expect, it } from 'vitest';
import { LockYield } from './lock-yield.js';

const tick = () => new Promise((r) => setTimeout(r, 0));
const never = new Promise<void>(() => {});

describe('LockYield', () => {
  it('tells parked groups to yield only when an oldest group\'s round trip is slow', async () => {
    const y = new LockYield(30);
    const parked = y.park(never);
    let answer: string | undefined;
    void parked.then((a) => (answer = a));
    await y.watch(Promise.resolve('fast'));
    await tick();
    expect(answer).toBeUndefined();
    await y.watch(new Promise((r) => setTimeout(r, 80)), () => false); // a later group's slow round trip
    await tick();
    expect(answer).toBeUndefined();
    await y.watch(new Promise((r) => setTimeout(r, 80)));
    expect(await parked).toBe('yield');
    expect(y.parkedCount).toBe(0);
  });

  it('a group whose turn comes first is no longer parked (nothing stays registered)', async () => {
    const y = new LockYield(1000);
    let done!: () => void;
    const turn = new Promise<void>((r) => (done = r));
    const parked = y.park(turn);
    expect(y.parkedCount).toBe(1);
    done();
    expect(await parked).toBe('turn');
    expect(y.parkedCount).toBe(0);
    expect(await y.park(Promise.reject(new Error('predecessor failed')))).toBe('turn');
    y.signal(); // nobody parked: nothing happens
    expect(y.parkedCount).toBe(0);
  });

  it('a group parked after a signal waits for the next one; the round trip\'s result and error pass through', async () => {
    const y = new LockYield(20);
    y.signal();
    const later = y.park(never);
    expect(y.parkedCount).toBe(1);
    expect(await y.watch(new Promise((r) => setTimeout(() => r('done'), 50)))).toBe('done');
    expect(await later).toBe('yield');
    await expect(y.watch(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});
