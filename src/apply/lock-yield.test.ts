import { describe, expect, it } from 'vitest';
import { LockYield } from './lock-yield.js';

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 0));
  return done;
};

describe('LockYield', () => {
  it('tells parked groups to yield only when a round trip is slow', async () => {
    const y = new LockYield(30);
    const parked = y.next();
    await y.watch(Promise.resolve('fast'));
    expect(await settled(parked)).toBe(false);
    await y.watch(new Promise((r) => setTimeout(r, 80)), () => false); // a later group's slow round trip
    expect(await settled(parked)).toBe(false);
    await y.watch(new Promise((r) => setTimeout(r, 80)));
    expect(await settled(parked)).toBe(true);
  });

  it('a group parked after a signal waits for the next one', async () => {
    const y = new LockYield(1000);
    y.signal();
    const later = y.next();
    expect(await settled(later)).toBe(false);
    y.signal();
    expect(await settled(later)).toBe(true);
  });

  it('keeps signalling while the round trip lasts, and passes its result and error through', async () => {
    const y = new LockYield(20);
    let signals = 0;
    const count = async () => {
      for (;;) {
        await y.next();
        signals++;
      }
    };
    void count();
    expect(await y.watch(new Promise((r) => setTimeout(() => r('done'), 110)))).toBe('done');
    expect(signals).toBeGreaterThanOrEqual(3);
    await expect(y.watch(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});
