/**
 * NOT RUN BY `npm test`: it does not pass yet (issue 13, see the README's "Foreign keys" limits). It
 * lives outside test/integration/ so the suite stays honest; move it back there to run it.
 * test/integration/convergence-random.test.ts runs the same test without the FK operations.
 *
 * Issue 13, the randomized convergence test (test/support/random-convergence.ts), with every operation
 * of test/support/random-workload.ts: inserts, updates, deletes, primary-key changes, unique-key
 * collisions and cycles, FK parent/child pairs in one transaction and in separate ones, ON DELETE
 * CASCADE and RESTRICT children, ON UPDATE CASCADE re-keys, a delete and re-insert in one
 * transaction, one TRUNCATE TABLE; one daemon SIGKILLed mid-way.
 *
 * A failing run prints its seed; `DRC_TEST_SEED=<n>` replays each ezone's sequence of operations
 * (the interleaving between ezones still follows timing). To narrow a failure down:
 * `DRC_TEST_RANDOM_INCLUDE=<regex>` runs only the operations whose name matches (e.g. `^claim-`), and
 * `DRC_TEST_RANDOM_KILL=0` kills no daemon.
 */
import { expect } from 'vitest';
import { describeRandomConvergence } from '../support/random-convergence.js';

const INCLUDE = process.env.DRC_TEST_RANDOM_INCLUDE ? new RegExp(process.env.DRC_TEST_RANDOM_INCLUDE) : undefined;

describeRandomConvergence('randomized convergence: concurrent writes everywhere, a daemon killed mid-way (issue 13)', {
  ...(INCLUDE ? { include: INCLUDE } : {}),
  kill: process.env.DRC_TEST_RANDOM_KILL !== '0',
  ops: { two: 500, three: 400 },
  timeoutMs: 180_000,
  // Not a vacuous result: the shared tables still hold rows, and both kinds of FK child survived somewhere.
  expectDone: (stats, counts) => {
    if (INCLUDE) return;
    expect(counts.parent).toBeGreaterThan(0);
    expect(counts.claim).toBeGreaterThan(0);
    expect(stats.committed['parent-rekey'] ?? 0).toBeGreaterThan(0);
    expect(stats.committed['pair-one-tx'] ?? 0).toBeGreaterThan(0);
    expect(stats.committed['claim-truncate']).toBe(1);
  },
});
