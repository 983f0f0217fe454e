/**
 * lag: both ezones write `rate` single-row tx/s each; the other ezone's poller timestamps each row's
 * arrival. Ids are dense per ezone, so a row that becomes visible after a higher id is polled for
 * until it arrives (no sample is lost to out-of-order commits). The first seconds at full load are a
 * warm-up (JIT, pools, caches) and are not sampled.
 */
import mysql from 'mysql2/promise';
import type { SandboxInfo } from '../../src/sandbox/sandbox.js';
import { cpuPct, memoryOf, peakRss, startActive, stopDaemon, waitStreaming } from '../harness/daemons.js';
import { percentile } from '../harness/db.js';
import { say, sleep, sleepUntil, type BenchOptions } from '../harness/options.js';
import type { LagResult } from '../harness/results.js';
import { sandboxConnectionOptions } from '../../src/sandbox/admin-account.js';

/** Ids of ezone i start at i × BASE. */
const BASE = 1_000_000_000;
const nowUs = () => performance.timeOrigin * 1000 + performance.now() * 1000;

interface Load {
  t0: number;
  measuredFrom: number;
  /** Rows sent so far, per ezone. */
  sentBy: number[];
  running: boolean;
  /** True until the writers have finished their last INSERT. */
  writing: boolean;
  /** How long each source INSERT (autocommit) took, in the measured window: part of every sample. */
  commits: number[];
  samples: { t: number; lagMs: number }[];
}

/** Four connections of ezone i, each sending its share of the fixed rate. */
async function writer(info: SandboxInfo, i: number, load: Load, rate: number): Promise<void> {
  const conns = await Promise.all([0, 1, 2, 3].map(() => mysql.createConnection(sandboxConnectionOptions(info.ezones[i]!.mysql, { database: 'bench' }))));
  const perConn = async (c: mysql.Connection) => {
    while (load.running) {
      const due = load.t0 + (load.sentBy[i]! * 1000) / rate;
      await sleepUntil(due);
      const id = i * BASE + load.sentBy[i]!++;
      const t = performance.now();
      await c.query('INSERT INTO load_t (id, sent_us) VALUES (?, ?)', [id, Math.round(performance.timeOrigin * 1000 + t * 1000)]);
      if (Date.now() >= load.measuredFrom) load.commits.push(performance.now() - t);
    }
    await c.end();
  };
  await Promise.all(conns.map(perConn));
}

/** In ezone i, the rows of the other ezone as they become visible; `until` says when to stop. */
async function poller(info: SandboxInfo, i: number, load: Load, until: () => number): Promise<void> {
  const c = await mysql.createConnection(sandboxConnectionOptions(info.ezones[i]!.mysql, { database: 'bench', supportBigNumbers: true }));
  const origin = 1 - i;
  let last = origin * BASE - 1;
  const missing = new Set<number>(); // ids below `last` not visible yet
  while (Date.now() < until() && (load.writing || missing.size > 0 || last < origin * BASE + load.sentBy[origin]! - 1)) {
    const gaps = [...missing];
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      `SELECT id, sent_us FROM load_t WHERE (id > ? AND id < ?)${gaps.length ? ' OR id IN (?)' : ''} ORDER BY id`,
      gaps.length ? [last, (origin + 1) * BASE, gaps] : [last, (origin + 1) * BASE],
    );
    const now = nowUs();
    for (const r of rows) {
      const id = Number(r.id);
      if (id > last) {
        for (let g = last + 1; g < id; g++) missing.add(g);
        last = id;
      } else {
        missing.delete(id);
      }
      const sentUs = Number(r.sent_us);
      if (sentUs / 1000 >= load.measuredFrom) load.samples.push({ t: sentUs / 1000 - load.measuredFrom, lagMs: (now - sentUs) / 1000 });
    }
    await sleep(2);
  }
  await c.end();
}

export async function runLag(info: SandboxInfo, options: BenchOptions): Promise<LagResult> {
  const P = options.sizes;
  const warmupMs = options.quick ? 5000 : 10_000;
  say(`lag: ${P.loadTxPerSec} tx/s each way for ${P.loadSeconds} s after a ${warmupMs / 1000} s warm-up…`);
  const daemons = await startActive(info.config, ['a', 'b'], 'lag', options.profile);
  await waitStreaming(daemons); // heartbeats flow both ways: the consumers have joined
  const t0 = Date.now();
  const load: Load = { t0, measuredFrom: t0 + warmupMs, sentBy: [0, 0], running: true, writing: true, commits: [], samples: [] };
  const writers = info.ezones.map((_, i) => writer(info, i, load, P.loadTxPerSec));
  let stoppedAt = 0;
  // After the writers stop, keep polling (up to 10 s) until every written row has arrived.
  const pollers = info.ezones.map((_, i) => poller(info, i, load, () => (stoppedAt === 0 ? Infinity : stoppedAt + 10_000)));
  await sleep(warmupMs); // the warm-up's duration, on purpose
  const cpuBefore = daemons.map((d) => d.cpuSec);
  await sleep(P.loadSeconds * 1000); // the measured load's duration, on purpose
  const cpu = daemons.map((d, i) => cpuPct(d.cpuSec - cpuBefore[i]!, P.loadSeconds * 1000));
  const memory = await memoryOf(daemons[0]!);
  load.running = false;
  await Promise.all(writers);
  stoppedAt = Date.now();
  load.writing = false;
  await Promise.all(pollers);
  await Promise.all(daemons.map(stopDaemon));
  load.commits.sort((x, y) => x - y);
  const written = load.sentBy.reduce((x, y) => x + y, 0);
  say(`  ${load.samples.length} samples; ${written} rows written in all, warm-up included`);
  return {
    samples: load.samples,
    rssMb: peakRss(daemons, 4),
    cpuPct: Math.max(...cpu),
    memory,
    sourceCommitP50Ms: percentile(load.commits, 50),
    sourceCommitP99Ms: percentile(load.commits, 99),
  };
}
