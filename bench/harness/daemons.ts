/**
 * `drc run` daemons of the bench: each serves /healthz and /metrics on a port of its own; readiness
 * and progress are read there (never from its log, which is only kept for people). Their memory and
 * CPU are sampled from /proc every 500 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { positionCovers } from '../../src/model/position.js';
import { freePort } from '../../src/sandbox/ports.js';
import { fetchHealth, fetchMetrics, metricSum, parseMetrics } from '../../test/support/daemon-http.js';
import { DAEMON_NODE_OPTIONS, DIR, MAIN, sleep } from './options.js';

export interface Daemon {
  ezone: string;
  child: ChildProcess;
  /** Resident memory samples (MB), every 500 ms. */
  rss: number[];
  /** user + system CPU seconds so far, from /proc/<pid>/stat (clock ticks of 1/100 s). */
  cpuSec: number;
  /** Where it serves /metrics and /healthz. */
  port: number;
  logFile: string;
}

/** Start `drc run` for one ezone; `profile` adds --cpu-prof (one profile per phase and ezone). */
export async function startDaemon(config: string, ezone: string, phase: string, profile: boolean): Promise<Daemon> {
  const port = await freePort();
  mkdirSync(join(DIR, 'logs'), { recursive: true });
  const logFile = join(DIR, 'logs', `drc-${ezone}-${phase}.log`);
  const fd = openSync(logFile, 'w');
  const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(DIR, 'profiles', phase)}`, `--cpu-prof-name=${ezone}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...prof, MAIN, 'run', '--config', config, '--ezone', ezone, '--metrics-port', String(port)], {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, NODE_OPTIONS: DAEMON_NODE_OPTIONS },
  });
  const d: Daemon = { ezone, child, rss: [], cpuSec: 0, port, logFile };
  const t = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) d.rss.push(Number(m[1]) / 1024);
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      d.cpuSec = (Number(stat[11]) + Number(stat[12])) / 100;
    } catch {
      clearInterval(t);
    }
  }, 500);
  t.unref();
  return d;
}

/** Until the daemon's /healthz says role active (it holds the lease, its stages run). */
export async function waitActive(d: Daemon, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (d.child.exitCode !== null) throw new Error(`daemon ${d.ezone} exited (${d.child.exitCode}) before it was active; see ${d.logFile}`);
    try {
      const h = await fetchHealth(d.port);
      if (h.role === 'active') return;
      last = `role ${h.role}`;
    } catch (err) {
      last = (err as Error).message; // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`daemon ${d.ezone} not active after ${timeoutMs} ms (${last}); see ${d.logFile}`);
    await sleep(100);
  }
}

/** Start daemons and wait until every one is active. */
export async function startActive(config: string, ezones: string[], phase: string, profile: boolean): Promise<Daemon[]> {
  const daemons = await Promise.all(ezones.map((e) => startDaemon(config, e, phase, profile)));
  await Promise.all(daemons.map((d) => waitActive(d)));
  return daemons;
}

export async function stopDaemon(d: Daemon): Promise<void> {
  if (d.child.exitCode !== null) return;
  d.child.kill('SIGTERM');
  await new Promise((r) => d.child.once('exit', r));
}

/** One metric of the daemon now (the sum of its samples matching `labels`). */
export async function metricOf(d: Daemon, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricSum(await fetchMetrics(d.port), name, labels);
}

/**
 * Until capture in this daemon has everything its server's binlog held when called durably on Kafka
 * (drc_capture_position_info covers @@gtid_binlog_pos): its resume point is past it.
 */
export async function waitShipped(d: Daemon, db: mysql.Connection, timeoutMs = 120_000): Promise<void> {
  const [[row]] = await db.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS p');
  const target = String(row!.p);
  const deadline = Date.now() + timeoutMs;
  let shipped = '';
  for (;;) {
    try {
      shipped = parseMetrics(await fetchMetrics(d.port)).find((s) => s.name === 'drc_capture_position_info')?.labels.position ?? '';
    } catch {
      // not listening yet
    }
    if (shipped !== '' && positionCovers(shipped, target)) return;
    if (Date.now() > deadline) throw new Error(`capture in ${d.ezone} did not ship up to ${target} within ${timeoutMs} ms (on Kafka: ${shipped || 'nothing'})`);
    await sleep(100);
  }
}

/**
 * Until every daemon has applied a heartbeat from every other one (drc_lag_seconds has a sample
 * per origin): the apply streams have joined their consumer groups and data flows both ways.
 */
export async function waitStreaming(daemons: Daemon[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const d of daemons) {
    const origins = daemons.filter((o) => o !== d).map((o) => o.ezone);
    for (;;) {
      const seen = new Set(
        parseMetrics(await fetchMetrics(d.port))
          .filter((s) => s.name === 'drc_lag_seconds')
          .map((s) => s.labels.origin),
      );
      if (origins.every((o) => seen.has(o))) break;
      if (Date.now() > deadline) throw new Error(`daemon ${d.ezone} applied no heartbeat from ${origins.filter((o) => !seen.has(o)).join(', ')} within ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}

/** The daemon's memory as V8 sees it (prom-client's default metrics), in MB. */
export async function memoryOf(d: Daemon): Promise<Record<string, number>> {
  const text = await fetchMetrics(d.port);
  const mb = (name: string) => Math.round(metricSum(text, name) / 2 ** 20);
  return { rss: mb('process_resident_memory_bytes'), heapTotal: mb('nodejs_heap_size_total_bytes'), heapUsed: mb('nodejs_heap_size_used_bytes'), external: mb('nodejs_external_memory_bytes') };
}

/**
 * The daemon's V8 memory (memoryOf) sampled every second until `stop` is called: the peak of each
 * figure (MB). RSS alone cannot tell the heap V8 keeps committed from native memory. `stop` returns a
 * copy: a sample still in flight cannot change the result afterwards.
 */
export function sampleMemory(d: Daemon): { stop: () => Record<string, number> } {
  const peak: Record<string, number> = {};
  let running = true;
  const loop = async () => {
    while (running && d.child.exitCode === null) {
      const m = await memoryOf(d).catch(() => ({}) as Record<string, number>);
      if (!running) return;
      for (const [k, v] of Object.entries(m)) peak[k] = Math.max(peak[k] ?? 0, v);
      await sleep(1000);
    }
  };
  void loop();
  return {
    stop: () => {
      running = false;
      return { ...peak };
    },
  };
}

/** CPU seconds a daemon used between two readings, as a percentage of one core. */
export const cpuPct = (cpuSec: number, wallMs: number): number => Math.round((100 * cpuSec) / (wallMs / 1000));

/** The largest RSS sample of these daemons (skipping each one's first `skip` samples: start-up). */
export const peakRss = (daemons: Daemon[], skip = 0): number => Math.max(...daemons.flatMap((d) => d.rss.slice(skip)));
