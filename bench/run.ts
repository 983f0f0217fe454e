/**
 * `npm run bench [-- --quick] [--only=drain,lag,…] [--profile] [--out=<dir>]`: DRC measured side by
 * side with MariaDB's own replication, on this machine, in one run. Writes <out>/latest.json,
 * latest.md (table with ratios) and lag.svg (default out: bench/results).
 *
 * The harness (bench/harness/) owns the sandbox, the daemons (readiness and progress from their
 * /healthz and /metrics), and the results; each phase is a module of its own (bench/phases/):
 * - drain: a backlog of single-row transactions applied by DRC, and by a native replica
 *   (single-threaded, then parallel);
 * - lag: both ezones write at a fixed rate; a poller in the other ezone times each row's arrival;
 * - mixed: inserts, updates and deletes from both ezones on shared keys (conflicts), checked to converge;
 * - capture: row changes decoded and shipped per second, catching up a backlog; and decoded alone;
 * - big: one huge transaction: the daemons' peak memory while it passes;
 * - guard: inserts per second without and with `drc guard install`'s triggers;
 * - rssMb: the daemons' resident memory, sampled throughout.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DIR, parseOptions, runs, say } from './harness/options.js';
import { SKIPPED, writeResults, type PhaseResults } from './harness/results.js';
import { setUp, tearDown, type BenchSandbox } from './harness/sandbox.js';
import { runBig } from './phases/big.js';
import { runCapture } from './phases/capture.js';
import { runDrain } from './phases/drain.js';
import { runGuardCost } from './phases/guard.js';
import { runLag } from './phases/lag.js';
import { runMixed } from './phases/mixed.js';
import { summariseDir } from './profile.js';

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  mkdirSync(options.out, { recursive: true });
  let sandbox: BenchSandbox | undefined;
  try {
    sandbox = await setUp();
    const s = sandbox;
    const results: PhaseResults = {
      drain: runs(options, 'drain') ? await runDrain(s, options) : SKIPPED.drain,
      lag: runs(options, 'lag') ? await runLag(s.info, options) : SKIPPED.lag,
      mixed: runs(options, 'mixed') ? await runMixed(s, options) : SKIPPED.mixed,
      capture: runs(options, 'capture') ? await runCapture(s, options) : SKIPPED.capture,
      big: runs(options, 'big') ? await runBig(s, options) : SKIPPED.big,
      // Last: no daemon runs meanwhile, and its writes are in a schema of its own.
      guard: runs(options, 'guard') ? await runGuardCost(s, options) : SKIPPED.guard,
    };
    const md = writeResults(options, results);
    say(`\n${md}`);
    if (options.profile) say(`\n${summariseDir(join(DIR, 'profiles'))}`);
  } finally {
    await tearDown(sandbox).catch(() => undefined);
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
