/**
 * The bench's command line (`npm run bench [-- --quick] [--only=…] [--profile] [--out=…] [--no-debezium]`), the sizes
 * of each phase, and where things live.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_OPTIONS as RECOMMENDED_NODE_OPTIONS } from '../../src/ops/runtime.js';

export type Phase = 'drain' | 'lag' | 'mixed' | 'capture' | 'big';

/** Sizes of the phases: the full bench, or `--quick` (about two minutes, what the test runs). */
export interface PhaseSizes {
  backlog: number;
  loadTxPerSec: number;
  loadSeconds: number;
  captureRows: number;
  mixedTxPerSec: number;
  mixedSeconds: number;
  bigRows: number;
}

export interface BenchOptions {
  quick: boolean;
  /** `--profile`: daemons run with --cpu-prof; a summary of the hottest functions per phase is printed. */
  profile: boolean;
  /** `--only=lag,capture`: run only these phases (for profiling one path); the JSON then holds only them. */
  only: string[] | undefined;
  /** `--out=<dir>`: where the results go (default bench/results, which is committed). */
  out: string;
  /** Debezium beside DRC in the capture phase (bench/harness/debezium.ts); `--no-debezium` leaves it out. */
  debezium: boolean;
  sizes: PhaseSizes;
}

const QUICK: PhaseSizes = { backlog: 20_000, loadTxPerSec: 500, loadSeconds: 20, captureRows: 100_000, mixedTxPerSec: 200, mixedSeconds: 15, bigRows: 100_000 };
const FULL: PhaseSizes = { backlog: 100_000, loadTxPerSec: 1000, loadSeconds: 60, captureRows: 500_000, mixedTxPerSec: 500, mixedSeconds: 60, bigRows: 1_000_000 };

/** Keys both ezones write in the mixed phase: small enough that they collide. */
export const MIXED_KEYS = 2000;

/** The repository (this file runs from dist-bench/bench/harness/). */
export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/** The bench's own sandbox (2 MariaDB servers + Kafka), recreated by every run. */
export const DIR = join(ROOT, '.bench-sandbox');
/** The built `drc` binary. */
export const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
/** Node options of the daemons: those the deploy artefacts use, unless DRC_BENCH_NODE_OPTIONS says otherwise. */
export const DAEMON_NODE_OPTIONS = process.env.DRC_BENCH_NODE_OPTIONS ?? RECOMMENDED_NODE_OPTIONS;

export function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return {
    quick,
    profile: argv.includes('--profile'),
    only: value('only')?.split(','),
    out: resolve(value('out') ?? join(ROOT, 'bench', 'results')),
    debezium: !argv.includes('--no-debezium'),
    sizes: quick ? QUICK : FULL,
  };
}

/** Whether `--only` lets this phase run. */
export function runs(options: BenchOptions, phase: Phase): boolean {
  return !options.only || options.only.includes(phase);
}

export const say = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

/** Let time pass on purpose (a load's duration, a writer's pacing); conditions are polled instead. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until the wall clock reaches `at` (ms since the epoch); at once when it has (never a negative timeout). */
export const sleepUntil = (at: number): Promise<void> => {
  const ms = at - Date.now();
  return ms > 0 ? sleep(ms) : Promise.resolve();
};
