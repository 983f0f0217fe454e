/**
 * big: one huge transaction (rows of 1 kB: 1 GB in the full bench) written in ezone a while both
 * daemons run: each daemon's peak RSS while it passes through (capture in a, apply in b).
 */
import { peakRss, sampleMemory, startActive, stopDaemon } from '../harness/daemons.js';
import { waitCount } from '../harness/db.js';
import { say, type BenchOptions } from '../harness/options.js';
import type { BigResult } from '../harness/results.js';
import type { BenchSandbox } from '../harness/sandbox.js';

export async function runBig({ info, dbs }: BenchSandbox, options: BenchOptions): Promise<BigResult> {
  const rowsN = options.sizes.bigRows;
  const mb = Math.round((rowsN * 1000) / 1e6);
  say(`big: one transaction of ${rowsN} rows of 1 kB (${mb} MB) from a to b…`);
  const [a, b] = await startActive(info.config, ['a', 'b'], 'big', options.profile);
  const samplers = [sampleMemory(a!), sampleMemory(b!)];
  const started = Date.now();
  await dbs[0]!.query(`INSERT INTO bench.big (id, pad) SELECT seq, REPEAT('x', 1000) FROM bench.seq_1_to_${rowsN}`);
  const done = await waitCount(dbs[1]!, 'bench.big', rowsN, 1_200_000);
  const [captureMemory, applyMemory] = samplers.map((s) => s.stop());
  await Promise.all([stopDaemon(a!), stopDaemon(b!)]);
  const seconds = (done - started) / 1000;
  const captureRssMb = Math.round(peakRss([a!]));
  const applyRssMb = Math.round(peakRss([b!]));
  say(`  applied in b ${seconds.toFixed(1)} s after the insert started; peak RSS a ${captureRssMb} MB, b ${applyRssMb} MB`);
  say(`  peaks from /metrics (MB), a: ${JSON.stringify(captureMemory)}, b: ${JSON.stringify(applyMemory)}`);
  return { mb, seconds, captureRssMb, applyRssMb, captureMemory: captureMemory!, applyMemory: applyMemory! };
}
