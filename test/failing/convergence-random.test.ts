/**
 * NOT RUN BY `npm test`: it does not pass yet (issue 13, see the README's "Foreign keys" limits). It
 * lives outside test/integration/ so the suite stays honest; move it back there to run it.
 *
 * Issue 13, the randomized convergence test: every ezone at once runs a seeded random workload over
 * small shared key spaces (inserts, updates, deletes, primary-key changes, unique-key collisions and
 * cycles, FK parent/child pairs in one transaction and in separate ones, ON DELETE CASCADE and
 * RESTRICT children, ON UPDATE CASCADE re-keys, a delete and re-insert in one transaction, one
 * TRUNCATE TABLE), beside the mixed workload of test/support/workload.ts
 * (whose own-range rows count exactly: nothing committed is lost); one daemon is SIGKILLed mid-way
 * and restarted while the others keep writing. After writes stop, every ezone must hold the same
 * data: CHECKSUM TABLE equal everywhere, `drc verify` at 0 differences, no stream paused.
 *
 * A failing run prints its seed; `DRC_TEST_SEED=<n>` replays each ezone's sequence of operations
 * (the interleaving between ezones still follows timing). To narrow a failure down:
 * `DRC_TEST_RANDOM_INCLUDE=<regex>` runs only the operations whose name matches (e.g. `^claim-`), and
 * `DRC_TEST_RANDOM_KILL=0` kills no daemon.
 */
import { afterEach, expect, it } from 'vitest';
import { rowCounts, sameChecksums } from '../support/checksums.js';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn } from '../support/replication.js';
import { RANDOM_DDL, RANDOM_TABLES, startRandomWorkload } from '../support/random-workload.js';
import { scenario, type Scenario } from '../support/scenario.js';
import { waitFor } from '../support/wait.js';
import { ownRows, startWorkload, WORKLOAD_TABLE } from '../support/workload.js';

const TABLES = [...RANDOM_TABLES, 'w'];
const INCLUDE = process.env.DRC_TEST_RANDOM_INCLUDE ? new RegExp(process.env.DRC_TEST_RANDOM_INCLUDE) : undefined;
const KILL = process.env.DRC_TEST_RANDOM_KILL !== '0';

describeWithServers('randomized convergence: concurrent writes everywhere, a daemon killed mid-way (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons = new Map<string, DaemonProcess>();
  afterEach(async () => {
    for (const d of daemons.values()) if (d.child.exitCode === null && d.child.signalCode === null) await d.kill('SIGTERM');
    daemons.clear();
    await s?.close();
    s = undefined;
  });

  /** `waitMs`: a restarted daemon catching up on a loaded machine may take a while to answer /healthz. */
  const start = async (ezone: string, waitMs = 30_000) => {
    const d = await DaemonProcess.start(['run', '--config', s!.configFile, '--ezone', ezone]);
    daemons.set(ezone, d);
    await d.waitActive(waitMs);
    return d;
  };

  async function run(ezones: string[], victim: string, opsPerEzone: number): Promise<void> {
    // A stream failing 20 s without progress pauses, and the settling wait stops at once: a stall, said early.
    s = await scenario(`random${ezones.length}`, { supervision: { giveUpAfter: '20s' } }, { ezones });
    for (const ez of ezones) for (const ddl of [...RANDOM_DDL, WORKLOAD_TABLE]) await s.db[ez]!.query(ddl);
    for (const ez of ezones) await start(ez);

    const random = startRandomWorkload(s, ezones, { ops: opsPerEzone, include: INCLUDE });
    const mixed = startWorkload(s, ezones);
    const total = opsPerEzone * ezones.length;
    const reach = (share: number, what: string) =>
      waitFor(() => random.stats.done, { what: `${what} (${Math.round(share * total)} of ${total} random operations)`, until: (n) => n >= share * total, timeoutMs: 60_000 });
    await reach(0.35, 'the workload to get going');
    if (KILL) {
      await daemons.get(victim)!.kill('SIGKILL'); // mid-way: its capture and its appliers die with whatever they had in flight
      await reach(0.6, `the others to write on while ${victim} is down`);
      await start(victim, 90_000);
    }
    await random.finished;
    const inserted = await mixed.stop();

    const health = [...daemons.values()];
    await sameChecksums(s, ezones, TABLES, { daemons: health, timeoutMs: 90_000, what: 'every table identical in every ezone after writes stopped' });
    const verify = await runDrc(['verify', '--config', s.configFile, '--ezones', ezones.join(','), '--json']);
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
    expect((JSON.parse(verify.stdout) as { differences: unknown[] }).differences).toEqual([]);
    for (const ez of ezones) expect(await ownRows(s.db[ez]!, ezones), `${ez}: every own-range row of every ezone`).toEqual(inserted);
    for (const d of health) {
      const h = await d.health();
      expect(h.httpStatus, JSON.stringify(h)).toBe(200);
      expect(h.problems).toEqual([]);
      expect(d.child.exitCode).toBeNull();
    }
    // Not a vacuous result: the shared tables still hold rows, and both kinds of FK child survived somewhere.
    const counts = await rowCounts(s.db[ezones[0]!]!, RANDOM_TABLES);
    if (!INCLUDE) {
      expect(counts.parent).toBeGreaterThan(0);
      expect(counts.claim).toBeGreaterThan(0);
      expect(random.stats.committed['parent-rekey'] ?? 0).toBeGreaterThan(0);
      expect(random.stats.committed['pair-one-tx'] ?? 0).toBeGreaterThan(0);
      expect(random.stats.committed['claim-truncate']).toBe(1);
    }
    const decided: Record<string, number> = {};
    for (const ez of ezones) for (const c of await conflictsIn(s, ez)) decided[`${c.reason} ${c.decision}`] = (decided[`${c.reason} ${c.decision}`] ?? 0) + 1;
    process.stdout.write(
      `\n[random ${ezones.length} ezones] seed ${s.seed}, ${total} random operations (${victim} SIGKILLed at 35 %, back at 60 %): committed ${JSON.stringify(random.stats.committed)}, refused by the origin ${JSON.stringify(random.stats.refused)}; conflicts ${JSON.stringify(decided)}; final rows ${JSON.stringify(counts)}; identical, verify 0 differences\n`,
    );
  }

  it('two ezones', () => run(['a', 'b'], 'b', 500), 180_000);

  it('three ezones', () => run(['a', 'b', 'c'], 'a', 400), 180_000);
});
