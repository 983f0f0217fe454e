/**
 * The randomized convergence test of issue 13, shared by its two files: every ezone at once runs the
 * seeded random workload of random-workload.ts beside the mixed workload of workload.ts (whose
 * own-range rows count exactly: nothing committed is lost); one daemon is SIGKILLed mid-way (at 35 %
 * of the random operations) and restarted (at 60 %) while the others keep writing. After writes stop,
 * every ezone must hold the same data: CHECKSUM TABLE equal everywhere, `drc verify` at 0 differences,
 * no stream paused, every daemon healthy.
 *
 * - test/integration/convergence-random.test.ts (in `npm test`): the operations without foreign keys
 *   (`claim-*`: unique keys, unique-key cycles, key changes, a delete and re-insert in one
 *   transaction, one TRUNCATE), few enough to keep the file short;
 * - test/failing/convergence-random.test.ts (not run): every operation, FK parent/child pairs too.
 *
 * A failing run prints its seed; `DRC_TEST_SEED=<n>` replays each ezone's sequence of operations
 * (the interleaving between ezones still follows timing).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { rowCounts, sameChecksums } from './checksums.js';
import { runDrc } from './cli.js';
import { DaemonProcess } from './daemon-process.js';
import { describeWithServers } from './env.js';
import { conflictsIn } from './replication.js';
import { RANDOM_DDL, RANDOM_TABLES, startRandomWorkload, type RandomWorkloadStats } from './random-workload.js';
import { scenario, type Scenario } from './scenario.js';
import { waitFor } from './wait.js';
import { ownRows, startWorkload, WORKLOAD_TABLE } from './workload.js';

const TABLES = [...RANDOM_TABLES, 'w'];

/** Each ezone's rows, conflicts, tombstones and waiting children of the test's schema, and the workload's journal, as JSON files in `dir`. */
async function dumpState(s: Scenario, ezones: string[], stats: RandomWorkloadStats, root: string): Promise<void> {
  const dir = join(root, `${ezones.length}-ezones`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'journal.json'), JSON.stringify(stats.journal, null, 1));
  for (const ez of ezones) {
    const db = s.db[ez]!;
    const out: Record<string, unknown> = {};
    for (const t of RANDOM_TABLES) out[t] = (await db.query(`SELECT * FROM ${t} ORDER BY id`))[0];
    for (const m of ['conflicts', 'tombstones', 'applied_tombstones', 'fk_waiting']) {
      out[m] = (await db.query(`SELECT * FROM drc_meta.${m} WHERE schema_name = ?`, [s.schema]))[0];
    }
    writeFileSync(join(dir, `${ez}.json`), JSON.stringify(out, null, 1));
  }
}

export interface RandomConvergenceOptions {
  /** Only the random operations whose name matches (random-workload.ts); all of them without it. */
  include?: RegExp;
  /** SIGKILL one daemon mid-way (and restart it). */
  kill: boolean;
  /** Random operations per ezone, by number of ezones (2 and 3). */
  ops: { two: number; three: number };
  /** Per test. */
  timeoutMs: number;
  /** What the run must have done besides converging (so that it is not vacuous). */
  expectDone: (stats: RandomWorkloadStats, counts: Record<string, number>) => void;
}

/** Register the suite: one test with two ezones, one with three. */
export function describeRandomConvergence(title: string, options: RandomConvergenceOptions): void {
  describeWithServers(title, () => {
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
      await Promise.all(ezones.map((ez) => start(ez, 60_000)));

      const random = startRandomWorkload(s, ezones, { ops: opsPerEzone, ...(options.include ? { include: options.include } : {}) });
      const mixed = startWorkload(s, ezones);
      const total = opsPerEzone * ezones.length;
      const reach = (share: number, what: string) =>
        waitFor(() => random.stats.done, { what: `${what} (${Math.round(share * total)} of ${total} random operations)`, until: (n) => n >= share * total, timeoutMs: 60_000 });
      await reach(0.35, 'the workload to get going');
      if (options.kill) {
        await daemons.get(victim)!.kill('SIGKILL'); // mid-way: its capture and its appliers die with whatever they had in flight
        await reach(0.6, `the others to write on while ${victim} is down`);
        await start(victim, 90_000);
      }
      await random.finished;
      const inserted = await mixed.stop();

      const health = [...daemons.values()];
      try {
        await sameChecksums(s, ezones, TABLES, { daemons: health, timeoutMs: 90_000, what: 'every table identical in every ezone after writes stopped' });
      } catch (err) {
        // DRC_TEST_RANDOM_DUMP=<dir>: what it takes to trace each diverging row (the servers go with the run).
        if (process.env.DRC_TEST_RANDOM_DUMP) await dumpState(s, ezones, random.stats, process.env.DRC_TEST_RANDOM_DUMP);
        throw err;
      }
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
      const counts = await rowCounts(s.db[ezones[0]!]!, RANDOM_TABLES);
      options.expectDone(random.stats, counts);
      const decided: Record<string, number> = {};
      for (const ez of ezones) for (const c of await conflictsIn(s, ez)) decided[`${c.reason} ${c.decision}`] = (decided[`${c.reason} ${c.decision}`] ?? 0) + 1;
      const killed = options.kill ? `${victim} SIGKILLed at 35 %, back at 60 %` : 'no daemon killed';
      process.stdout.write(
        `\n[random ${ezones.length} ezones] seed ${s.seed}, ${total} random operations (${killed}): committed ${JSON.stringify(random.stats.committed)}, refused by the origin ${JSON.stringify(random.stats.refused)}; conflicts ${JSON.stringify(decided)}; final rows ${JSON.stringify(counts)}; identical, verify 0 differences\n`,
      );
    }

    it('two ezones', () => run(['a', 'b'], 'b', options.ops.two), options.timeoutMs);

    it('three ezones', () => run(['a', 'b', 'c'], 'a', options.ops.three), options.timeoutMs);
  });
}
