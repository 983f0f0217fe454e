/**
 * capture: row changes decoded and shipped per second, catching up a backlog of multi-row
 * transactions; and the decode alone (the daemon's own source and assembler in this process).
 */
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { TransactionAssembler } from '../../src/capture/assembler.js';
import { BinlogSource } from '../../src/capture/binlog-source.js';
import { TableFilter } from '../../src/config/table-filter.js';
import { loadConfig } from '../../src/config/loader.js';
import type { SandboxInfo } from '../../src/sandbox/sandbox.js';
import { metricOf, startActive, startDaemon, stopDaemon, waitShipped, type Daemon } from '../harness/daemons.js';
import { DEBEZIUM_VERSION, DebeziumLeg } from '../harness/debezium.js';
import { DIR, say, sleep, type BenchOptions } from '../harness/options.js';
import type { CaptureResult } from '../harness/results.js';
import { log, type BenchSandbox } from '../harness/sandbox.js';

/**
 * Capture's decode alone, in this process: binlog events of the capture backlog read with the
 * daemon's own source and assembler (row images → changes, notifications, chunk messages), nothing
 * sent to Kafka. The daemon's catch-up (catchUp) adds the Kafka shipping to this.
 */
async function decodeOnly(info: SandboxInfo, backlogStart: string, captureRows: number): Promise<number> {
  const config = loadConfig(info.config);
  let rows = 0;
  let first = 0;
  let last = 0;
  let fail: ((err: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  let reached: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (reached = resolve));
  const emit = (part: { rows: number }) => {
    if (part.rows === 0) return;
    first ||= performance.now();
    rows += part.rows;
    last = performance.now();
    if (rows >= captureRows) reached?.();
  };
  const assembler = new TransactionAssembler({ ezone: 'a', filter: new TableFilter(config), maxMessageBytes: config.kafka.maxMessageBytes, emit }, backlogStart);
  const source = new BinlogSource({ mysql: config.ezones.a!.mysql, serverId: 4242, heartbeatMs: 1000, log, onEvent: (ev) => assembler.push(ev), onError: (err) => fail?.(err) });
  source.start(backlogStart);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('decode: backlog not read in 5 minutes')), 300_000)));
  try {
    await Promise.race([done, failed, timeout]);
  } finally {
    clearTimeout(timer); // a pending timer would keep the bench process alive
    await source.stop();
  }
  say(`  decode only (no Kafka): ${rows} row changes in ${((last - first) / 1000).toFixed(1)} s`);
  return Math.round(rows / ((last - first) / 1000));
}

/** drc_capture_rows_total of the daemon, sampled every 200 ms until it reaches `target`. */
async function progressUntil(d: Daemon, target: number, timeoutMs: number): Promise<{ time: number; rowChanges: number }[]> {
  const deadline = Date.now() + timeoutMs;
  const progress: { time: number; rowChanges: number }[] = [];
  while ((progress.at(-1)?.rowChanges ?? 0) < target) {
    if (Date.now() > deadline) throw new Error(`capture did not ship the backlog in ${timeoutMs / 60_000} minutes`);
    if (d.child.exitCode !== null) throw new Error(`daemon a exited (${d.child.exitCode}) during the capture phase; see ${d.logFile}`);
    try {
      progress.push({ time: Date.now(), rowChanges: await metricOf(d, 'drc_capture_rows_total') });
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  return progress;
}

/**
 * Capture catch-up: a backlog of multi-row transactions is written while the daemon is stopped, then
 * the daemon decodes and ships it. The rate comes from its metrics (drc_capture_rows_total every
 * 200 ms), from the first sample with rows shipped to the one that reports the whole backlog, so
 * start-up is excluded and the rate is not capped by how fast the server can write.
 */
async function catchUp(info: SandboxInfo, dbs: mysql.Connection[], options: BenchOptions): Promise<{ rate: number; backlogStart: string }> {
  const rows = options.sizes.captureRows;
  say(`capture: a backlog of ${rows} row changes in 1,000-row transactions…`);
  // The backlog must lie after capture's resume point on Kafka (a first start begins at the binlog end).
  const [setup] = await startActive(info.config, ['a'], 'capture-setup', options.profile);
  await waitShipped(setup!, dbs[0]!); // the resume point is on Kafka
  await stopDaemon(setup!);
  const [[pos]] = await dbs[0]!.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS p');
  const backlogStart = String(pos!.p);
  for (let i = 0; i < rows; i += 1000) {
    await dbs[0]!.query(`INSERT INTO bench.cap (id, v) SELECT seq + ${i}, 'x' FROM bench.seq_1_to_1000`);
  }
  const a = await startDaemon(info.config, 'a', 'capture', options.profile);
  const progress = await progressUntil(a, rows, 600_000);
  await stopDaemon(a);
  const first = progress.find((p) => p.rowChanges > 0)!;
  const last = progress.find((p) => p.rowChanges >= rows)!;
  say(`  ${last.rowChanges - first.rowChanges} row changes in ${((last.time - first.time) / 1000).toFixed(1)} s`);
  return { rate: Math.round((last.rowChanges - first.rowChanges) / ((last.time - first.time) / 1000)), backlogStart };
}

/**
 * The daemon's catch-up with shipping, then the decode alone over the same backlog; and Debezium
 * catching up the same backlog (bench/harness/debezium.ts), unless --no-debezium.
 */
export async function runCapture({ info, dbs }: BenchSandbox, options: BenchOptions): Promise<CaptureResult> {
  const rows = options.sizes.captureRows;
  const debezium = options.debezium ? await DebeziumLeg.prepare(join(DIR, 'debezium'), loadConfig(info.config).kafka.brokers) : undefined;
  try {
    await debezium?.recordResumePoint();
    const { rate, backlogStart } = await catchUp(info, dbs, options);
    const decode = await decodeOnly(info, backlogStart, rows);
    let debeziumRate = NaN;
    if (debezium) {
      say(`capture: Debezium ${DEBEZIUM_VERSION} catching up the same backlog…`);
      await debezium.writeBacklog(rows);
      debeziumRate = await debezium.catchUp(rows, 600_000);
    }
    return { rowChangesPerSec: rate, decodeOnlyRowChangesPerSec: decode, debeziumRowsPerSec: debeziumRate };
  } finally {
    await debezium?.tearDown();
  }
}
