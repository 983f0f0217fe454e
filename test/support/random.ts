/**
 * Seeded randomness for test workloads: a failing random workload can be replayed exactly by
 * running again with the seed it printed (`DRC_TEST_SEED=<n> npx vitest run …`).
 */
import { onTestFailed } from 'vitest';

/** The seed used when DRC_TEST_SEED is not set: runs are reproducible by default. */
export const DEFAULT_TEST_SEED = 20261201;

/** DRC_TEST_SEED, or the fixed default. */
export function testSeed(): number {
  const raw = process.env.DRC_TEST_SEED;
  if (raw === undefined || raw === '') return DEFAULT_TEST_SEED;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`DRC_TEST_SEED must be an integer, got "${raw}"`);
  return seed;
}

/** A small deterministic random source. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

/** mulberry32: 32 bits of state, good enough spread for workloads, identical on every run. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}

/** A stream of its own for one part of a test (one per ezone, say), derived from a seed. */
export function derive(seed: number, stream: number): Random {
  return mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) + stream) >>> 0);
}

/** Print the seed when the current test fails, with the command line that replays it. */
export function reportSeedOnFailure(seed: number, what = 'workload'): void {
  onTestFailed(() => {
    process.stderr.write(`\n${what} seed ${seed}: replay with DRC_TEST_SEED=${seed}\n`);
  });
}
