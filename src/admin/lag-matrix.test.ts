import { describe, expect, it } from 'vitest';
import { lagMatrix, type LagInputs } from './lag-matrix.js';

const NOW = 1_000_000;

/** Two ezones, heartbeats applied `silence` ms ago after `transit` ms on the way, Kafka caught up. */
function inputs(over: Partial<LagInputs> = {}, hb: Record<string, { transit: number; silence: number }> = {}): LagInputs {
  const beats = { 'a>b': { transit: 40, silence: 200 }, 'b>a': { transit: 60, silence: 300 }, ...hb };
  return {
    ezones: ['a', 'b'],
    heartbeats: new Map(Object.entries(beats).map(([k, { transit, silence }]) => [k, { sentMs: NOW - silence - transit, appliedMs: NOW - silence, nowMs: NOW }])),
    positions: new Map([
      ['a>b', { next: 10n, pos: '1-1-5' }],
      ['b>a', { next: 20n, pos: '2-2-7' }],
    ]),
    highWater: new Map([
      ['a', 11n],
      ['b', 21n],
    ]),
    unreachable: new Map(),
    uninitialised: new Set(),
    ...over,
  };
}

const pair = (pairs: ReturnType<typeof lagMatrix>, o: string, d: string) => pairs.find((p) => p.origin === o && p.destination === d)!;

describe('lagMatrix', () => {
  it('reports transit lag, zero backlog and a skew between two live, caught-up streams', () => {
    const pairs = lagMatrix(inputs(), 1000);
    expect(pair(pairs, 'a', 'b')).toEqual({ origin: 'a', destination: 'b', lagMs: 40, backlog: 0, position: '1-1-5', skewMs: -10 });
    expect(pair(pairs, 'b', 'a')).toMatchObject({ lagMs: 60, backlog: 0, skewMs: 10 });
  });

  it('does not infer a skew while a stream is backlogged', () => {
    const pairs = lagMatrix(inputs({ highWater: new Map([['a', 50n], ['b', 21n]]) }), 1000);
    expect(pair(pairs, 'a', 'b')).toMatchObject({ backlog: 39, skewMs: null, skewReason: 'not estimated while a stream is backlogged' });
    expect(pair(pairs, 'b', 'a')).toMatchObject({ backlog: 0, skewMs: null });
  });

  it('with both daemons stopped: growing lag, no skew, and a hint naming the daemon to look at', () => {
    const pairs = lagMatrix(inputs({}, { 'a>b': { transit: 40, silence: 45_000 }, 'b>a': { transit: 60, silence: 7_000 } }), 1000);
    expect(pair(pairs, 'a', 'b')).toMatchObject({ lagMs: 45_040, skewMs: null, skewReason: 'not estimated while heartbeats are stale', hint: 'no heartbeat for 45 s: is the daemon for a running?' });
    expect(pair(pairs, 'b', 'a')).toMatchObject({ lagMs: 7_060, hint: 'no heartbeat for 7 s: is the daemon for b running?' });
  });

  it('blames the destination when messages wait to be applied', () => {
    const pairs = lagMatrix(inputs({ highWater: new Map([['a', 30n], ['b', 21n]]) }, { 'a>b': { transit: 40, silence: 10_000 } }), 1000);
    expect(pair(pairs, 'a', 'b').hint).toBe('no heartbeat for 10 s: is the daemon for b running?');
  });

  it('uses heartbeat.interval to tell stale from fresh', () => {
    const hb = { 'a>b': { transit: 40, silence: 5_000 } };
    expect(pair(lagMatrix(inputs({}, hb), 1000), 'a', 'b')).toMatchObject({ lagMs: 5_040, hint: expect.any(String) });
    expect(pair(lagMatrix(inputs({}, hb), 2000), 'a', 'b')).toMatchObject({ lagMs: 40, skewMs: -10 });
  });

  it('puts an error on every pair a server was needed for, and no skew', () => {
    const down = inputs({
      heartbeats: new Map(),
      positions: new Map(),
      highWater: new Map(),
      unreachable: new Map([
        ['a', 'cannot connect to ezone a'],
        ['b', 'cannot connect to ezone b'],
        ['kafka', 'cannot reach Kafka'],
      ]),
    });
    const pairs = lagMatrix(down, 1000);
    expect(pair(pairs, 'a', 'b')).toEqual({
      origin: 'a',
      destination: 'b',
      lagMs: null,
      backlog: null,
      position: null,
      skewMs: null,
      skewReason: 'ezone a could not be read',
      error: 'cannot connect to ezone b; cannot reach Kafka',
    });
    expect(pair(pairs, 'b', 'a').error).toBe('cannot connect to ezone a; cannot reach Kafka');
  });

  it('explains an ezone without drc_meta and a pair without heartbeats', () => {
    const fresh = inputs({ heartbeats: new Map(), uninitialised: new Set(['b']) });
    const pairs = lagMatrix(fresh, 1000);
    expect(pair(pairs, 'a', 'b').hint).toBe('drc_meta is not set up in b yet: has its daemon ever run?');
    expect(pair(pairs, 'b', 'a').hint).toBe('no heartbeat from b has been applied in a: are the daemons for b and a running?');
    expect(pairs.every((p) => p.error === undefined)).toBe(true);
  });
});
