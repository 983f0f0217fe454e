import { describe, expect, it } from 'vitest';
import { DeleteClock } from './delete-clock.js';

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const us = (ms: number) => (BigInt(ms) * 1000n).toString();

describe('DeleteClock', () => {
  it("times every delete of a transaction at its first delete's receipt, and hands that time out once to record", () => {
    const tx = new DeleteClock().transaction('0-1-5');
    expect(tx.at(T0, T0 + 120, true)).toBe(T0 + 120);
    expect(tx.at(T0, T0 + 180, true)).toBe(T0 + 120);
    expect(tx.takeReceipt()).toEqual({ txId: '0-1-5', receivedAt: T0 + 120 });
    expect(tx.takeReceipt()).toBeUndefined();
  });

  it('keeps the time an earlier capture recorded for the transaction, and has nothing new to record', () => {
    const tx = new DeleteClock(new Map([['0-1-5', T0 + 120]])).transaction('0-1-5');
    expect(tx.at(T0, T0 + 5000, true)).toBe(T0 + 120);
    expect(tx.takeReceipt()).toBeUndefined();
    expect(new DeleteClock(new Map([['0-1-5', T0 + 120]])).transaction('0-1-6').at(T0, T0 + 5000, true)).toBe(T0); // another transaction, read late
  });

  it('times a delete read late at the newest local write before it in its second, never later', () => {
    const clock = new DeleteClock();
    clock.noteWrite(us(T0 + 420));
    clock.noteWrite(us(T0 + 300)); // older: the bound only grows
    const tx = clock.transaction('0-1-7');
    expect(tx.at(T0, T0 + 6000, true)).toBe(T0 + 420);
    expect(tx.takeReceipt()).toEqual({ txId: '0-1-7', receivedAt: T0 + 420 });
    clock.noteWrite(us(T0 - 2000)); // a write of an earlier second bounds nothing here
    expect(new DeleteClock().transaction('0-1-8').at(T0, T0 + 6000, true)).toBe(T0);
  });

  it('records nothing for a transaction DRC applied (it is not shipped), and times each of its deletes by its own arrival', () => {
    const tx = new DeleteClock().transaction('0-1-9');
    expect(tx.at(T0, T0 + 10, false)).toBe(T0 + 10);
    expect(tx.at(T0, T0 + 20, false)).toBe(T0 + 20);
    expect(tx.takeReceipt()).toBeUndefined();
  });
});
