/**
 * What a bench run writes: `latest.json` (keys other tools and the bench test read: keep them),
 * `latest.md` (the table with ratios to native replication) and `lag.svg`.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { DEBEZIUM_VERSION } from './debezium.js';
import type { GuardCost } from './guard-load.js';
import { percentile } from './db.js';
import { MIXED_KEYS, type BenchOptions } from './options.js';

export interface DrainResult {
  txPerSec: number;
  rssMb: number;
  cpuPct: number;
  nativeSingle: number;
  nativeParallel: number;
}
export interface LagResult {
  samples: { t: number; lagMs: number }[];
  rssMb: number;
  cpuPct: number;
  memory: Record<string, number>;
  sourceCommitP50Ms: number;
  sourceCommitP99Ms: number;
}
export interface MixedResult {
  txPerSec: number;
  conflicts: number;
  convergedMs: number;
  rows: number;
  keys: number;
}
export interface CaptureResult {
  rowChangesPerSec: number;
  decodeOnlyRowChangesPerSec: number;
  /** Debezium's MySQL connector catching up the same backlog (NaN with --no-debezium). */
  debeziumRowsPerSec: number;
}
export interface BigResult {
  mb: number;
  seconds: number;
  captureRssMb: number;
  applyRssMb: number;
  /** Peaks of each daemon's V8 figures from /metrics (rss, heapTotal, heapUsed, external; MB). */
  captureMemory: Record<string, number>;
  applyMemory: Record<string, number>;
}
export interface PhaseResults {
  drain: DrainResult;
  lag: LagResult;
  mixed: MixedResult;
  capture: CaptureResult;
  big: BigResult;
  guard: GuardCost;
}

/** What a phase that `--only` left out reports. */
export const SKIPPED: PhaseResults = {
  drain: { txPerSec: NaN, rssMb: NaN, cpuPct: NaN, nativeSingle: NaN, nativeParallel: NaN },
  lag: { samples: [], rssMb: NaN, cpuPct: NaN, memory: {}, sourceCommitP50Ms: NaN, sourceCommitP99Ms: NaN },
  mixed: { txPerSec: NaN, conflicts: NaN, convergedMs: NaN, rows: NaN, keys: MIXED_KEYS },
  capture: { rowChangesPerSec: NaN, decodeOnlyRowChangesPerSec: NaN, debeziumRowsPerSec: NaN },
  big: { mb: NaN, seconds: NaN, captureRssMb: NaN, applyRssMb: NaN, captureMemory: {}, applyMemory: {} },
  guard: { writers: 4, seconds: NaN, rounds: 0, shardCount: NaN, insertsPerSecWithout: NaN, insertsPerSecWith: NaN, ratio: NaN, runs: [] },
};

function machine(): string {
  return `${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s+:\s+(.*)/)?.[1] ?? 'unknown'}, ${cpus().length} cores`;
}

/** The results document (latest.json). */
export function resultDocument(options: BenchOptions, r: PhaseResults) {
  const P = options.sizes;
  const sorted = r.lag.samples.map((s) => s.lagMs).sort((x, y) => x - y);
  return {
    at: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    machine: machine(),
    drain: { backlogTx: P.backlog, drcTxPerSec: r.drain.txPerSec, nativeParallelTxPerSec: r.drain.nativeParallel, nativeSingleTxPerSec: r.drain.nativeSingle, daemonCpuPct: r.drain.cpuPct, rssMb: Math.round(r.drain.rssMb) },
    lag: {
      loadTxPerSec: P.loadTxPerSec,
      seconds: P.loadSeconds,
      samples: sorted.length,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      p999Ms: percentile(sorted, 99.9),
      maxMs: percentile(sorted, 100),
      daemonCpuPct: r.lag.cpuPct,
      rssMb: Math.round(r.lag.rssMb),
      memoryOfA: r.lag.memory,
      sourceCommitP50Ms: r.lag.sourceCommitP50Ms,
      sourceCommitP99Ms: r.lag.sourceCommitP99Ms,
    },
    mixed: { offeredTxPerSecEachWay: P.mixedTxPerSec, seconds: P.mixedSeconds, txPerSec: r.mixed.txPerSec, keys: r.mixed.keys, conflicts: r.mixed.conflicts, convergedMsAfterLoad: r.mixed.convergedMs, rows: r.mixed.rows },
    capture: { rowChangesPerSec: r.capture.rowChangesPerSec, decodeOnlyRowChangesPerSec: r.capture.decodeOnlyRowChangesPerSec, debeziumRowsPerSec: r.capture.debeziumRowsPerSec },
    bigTransaction: { rows: P.bigRows, mb: r.big.mb, seconds: r.big.seconds, captureRssMb: r.big.captureRssMb, applyRssMb: r.big.applyRssMb, captureMemoryPeaks: r.big.captureMemory, applyMemoryPeaks: r.big.applyMemory },
    guard: r.guard,
    // Steady state: the lag phase at a fixed load (the drain's catch-up burst is reported in drain.rssMb).
    rssMb: Math.round(r.lag.rssMb),
  };
}

type ResultDocument = ReturnType<typeof resultDocument>;

/** The table with ratios to native replication and the targets (latest.md). */
export function markdown(options: BenchOptions, doc: ResultDocument, r: PhaseResults): string {
  const P = options.sizes;
  const ratio = (x: number, y: number) => (y > 0 ? `${(x / y).toFixed(2)}×` : '-'); // NaN > 0 is false too
  return [
    `| measure (${doc.mode}, ${doc.machine}) | DRC | native single | native parallel | DRC / native parallel | Debezium ${DEBEZIUM_VERSION} | DRC / Debezium | target |`,
    '|---|---|---|---|---|---|---|---|',
    `| drain of ${P.backlog} single-row tx (tx/s) | ${r.drain.txPerSec} | ${r.drain.nativeSingle} | ${r.drain.nativeParallel} | ${ratio(r.drain.txPerSec, r.drain.nativeParallel)} | | | ≥ 1× |`,
    `| lag p50 / p99 / p99.9 at ${P.loadTxPerSec} tx/s each way (ms) | ${doc.lag.p50Ms} / ${doc.lag.p99Ms} / ${doc.lag.p999Ms} | | | | | | ≤ 50 / 250 / 1000 |`,
    `| mixed insert/update/delete, both ways on ${doc.mixed.keys} shared keys: tx/s, conflicts, identical after (ms) | ${r.mixed.txPerSec} tx/s, ${r.mixed.conflicts} conflicts, ${r.mixed.convergedMs} ms | | | | | | converges |`,
    `| capture of a backlog of 1,000-row tx (row changes/s): decode alone / decode and ship to Kafka | ${r.capture.decodeOnlyRowChangesPerSec} / ${r.capture.rowChangesPerSec} | | | | ${Number.isNaN(r.capture.debeziumRowsPerSec) ? '-' : r.capture.debeziumRowsPerSec} | ${ratio(r.capture.rowChangesPerSec, r.capture.debeziumRowsPerSec)} | ≥ 50,000 decode; ≥ 1.5× Debezium |`,
    `| daemon RSS (MB): steady at ${P.loadTxPerSec} tx/s each way / peak while draining | ${doc.rssMb} / ${doc.drain.rssMb} | | | | | | ≤ 150 steady |`,
    `| daemon RSS (MB) while a ${r.big.mb} MB transaction passes: capture / apply | ${r.big.captureRssMb} / ${r.big.applyRssMb} | | | | | | ≤ 256 (1 GB) |`,
    `| daemon CPU, % of one core (applying in drain / busiest in lag) | ${r.drain.cpuPct} / ${r.lag.cpuPct} | | | | | | |`,
    `| ${guardRow(r.guard)} | | | | | | |`,
    '',
  ].join('\n');
}

/** The guard phase's cells: what was measured, and inserts/s without → with the triggers (their ratio). */
export function guardRow(g: GuardCost): string {
  return `drc guard triggers: ${g.writers} connections of single-row inserts (inserts/s without → with, ratio) | ${g.insertsPerSecWithout} → ${g.insertsPerSecWith} (${g.ratio})`;
}

/** Lag over time as a small SVG line chart. */
export function svg(samples: { t: number; lagMs: number }[], loadTxPerSec: number): string {
  const W = 800;
  const H = 300;
  const maxT = Math.max(1, ...samples.map((s) => s.t));
  const maxL = Math.max(10, ...samples.map((s) => s.lagMs));
  const points = samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 2000)) === 0).map((s) => `${((s.t / maxT) * (W - 60) + 50).toFixed(1)},${(H - 30 - (s.lagMs / maxL) * (H - 50)).toFixed(1)}`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="50" y="14">DRC end-to-end lag (ms) over time (s) at ${loadTxPerSec} tx/s each way</text>
<line x1="50" y1="${H - 30}" x2="${W - 10}" y2="${H - 30}" stroke="black"/><line x1="50" y1="20" x2="50" y2="${H - 30}" stroke="black"/>
<text x="5" y="24">${Math.round(maxL)}</text><text x="30" y="${H - 30}">0</text><text x="${W - 40}" y="${H - 12}">${Math.round(maxT / 1000)} s</text>
<polyline fill="none" stroke="steelblue" stroke-width="0.8" points="${points.join(' ')}"/>
</svg>
`;
}

/** Write latest.json, latest.md and lag.svg into `options.out`; returns the table. */
export function writeResults(options: BenchOptions, r: PhaseResults): string {
  mkdirSync(options.out, { recursive: true });
  const doc = resultDocument(options, r);
  writeFileSync(join(options.out, 'latest.json'), `${JSON.stringify(doc, null, 2)}\n`);
  const md = markdown(options, doc, r);
  writeFileSync(join(options.out, 'latest.md'), md);
  writeFileSync(join(options.out, 'lag.svg'), svg(r.lag.samples, options.sizes.loadTxPerSec));
  return md;
}
