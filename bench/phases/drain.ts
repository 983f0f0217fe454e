/**
 * drain: a backlog of single-row transactions in ezone a, applied into ezone b by DRC, and the same
 * binlog range applied by a native MariaDB replica (single-threaded, then parallel).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { initMariaDb, startMariaDb, waitMariaDbReady, bootstrapMariaDb, type MariaDbSpec } from '../../src/sandbox/mariadb.js';
import { freePort } from '../../src/sandbox/ports.js';
import { ensurePrerequisites, MARIADB_SERVER } from '../../src/sandbox/prerequisites.js';
import { isRunning, stopProcess } from '../../src/sandbox/processes.js';
import type { SandboxInfo } from '../../src/sandbox/sandbox.js';
import { cpuPct, peakRss, startActive, startDaemon, stopDaemon, waitShipped } from '../harness/daemons.js';
import { waitCount } from '../harness/db.js';
import { DIR, say, sleep, type BenchOptions } from '../harness/options.js';
import type { DrainResult } from '../harness/results.js';
import { log, type BenchSandbox } from '../harness/sandbox.js';
import { sandboxConnectionOptions } from '../../src/sandbox/admin-account.js';

/** Single-row transactions from a few connections, as fast as they go. */
async function writeBacklog(info: SandboxInfo, n: number): Promise<void> {
  const conns = await Promise.all([0, 1, 2, 3].map(() => mysql.createConnection(sandboxConnectionOptions(info.ezones[0]!.mysql, { database: 'bench' }))));
  let next = 0;
  await Promise.all(
    conns.map(async (c) => {
      for (let i = next++; i < n; i = next++) await c.query('INSERT INTO drain (id, v) VALUES (?, ?)', [i, `row-${i}`]);
      await c.end();
    }),
  );
}

async function drainDrc({ info, dbs }: BenchSandbox, options: BenchOptions): Promise<{ txPerSec: number; rssMb: number; cpuPct: number }> {
  const P = options.sizes;
  say(`drain: writing ${P.backlog} single-row transactions in ezone a (daemon b stopped)…`);
  const [a] = await startActive(info.config, ['a'], 'drain', options.profile);
  await writeBacklog(info, P.backlog);
  await waitShipped(a!, dbs[0]!); // the whole backlog is on Kafka before b starts
  const spawned = Date.now();
  const b = await startDaemon(info.config, 'b', 'drain', options.profile);
  // Timed from the first applied row, as the native replica is timed from its SQL thread's start:
  // both have the backlog at hand (Kafka, relay log); b's start-up (Kafka group join) is reported apart.
  const started = await waitCount(dbs[1]!, 'bench.drain', 1, 120_000);
  const cpuAtStart = b.cpuSec;
  const done = await waitCount(dbs[1]!, 'bench.drain', P.backlog, 600_000);
  const seconds = (done - started) / 1000;
  say(`  DRC start-up (spawn to first applied row): ${((started - spawned) / 1000).toFixed(1)} s`);
  const cpu = cpuPct(b.cpuSec - cpuAtStart, done - started); // the applying daemon, sampled every 500 ms
  await Promise.all([stopDaemon(a!), stopDaemon(b)]);
  return { txPerSec: Math.round(P.backlog / seconds), rssMb: peakRss([a!, b]), cpuPct: cpu };
}

/** A native MariaDB replica of ezone a, replaying the same binlog range. */
async function drainNative(info: SandboxInfo, startPos: string, parallel: boolean, backlog: number): Promise<number> {
  const bins = ensurePrerequisites(MARIADB_SERVER, log);
  const spec: MariaDbSpec = { name: parallel ? 'replica-p' : 'replica-s', dir: join(DIR, parallel ? 'replica-p' : 'replica-s'), port: await freePort(), serverId: parallel ? 51 : 52, autoIncrementIncrement: 2 };
  rmSync(spec.dir, { recursive: true, force: true }); // a fresh replica every run
  await initMariaDb(spec, bins['mariadb-install-db'] as string);
  const pid = startMariaDb(spec, bins.mariadbd as string);
  await waitMariaDbReady(spec, () => isRunning(pid, join(spec.dir, 'data')));
  const accounts = { adminUser: 'root', adminPassword: info.ezones[0]!.mysql.password, drcUser: 'drc', drcPassword: 'x' };
  await bootstrapMariaDb(spec, accounts);
  const r = await mysql.createConnection({ host: '127.0.0.1', port: spec.port, user: 'root', password: accounts.adminPassword });
  try {
    await r.query('CREATE DATABASE bench');
    await r.query('CREATE TABLE bench.drain (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    await r.query(`SET GLOBAL slave_parallel_threads = ${parallel ? 8 : 0}`);
    if (parallel) await r.query("SET GLOBAL slave_parallel_mode = 'aggressive'");
    await r.query(`SET GLOBAL gtid_slave_pos = '${startPos}'`);
    const a = info.ezones[0]!.mysql;
    await r.query(`CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${a.port}, MASTER_USER='${a.user}', MASTER_PASSWORD='${a.password}', MASTER_USE_GTID=slave_pos`);
    // Fetch the whole backlog into the relay log first, then time the SQL thread alone.
    await r.query('START SLAVE IO_THREAD');
    const master = await mysql.createConnection(sandboxConnectionOptions(info.ezones[0]!.mysql));
    const [[m]] = await master.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    await master.end();
    for (;;) {
      const [[st]] = await r.query<mysql.RowDataPacket[]>('SHOW SLAVE STATUS');
      if (st?.Master_Log_File === m!.File && Number(st?.Read_Master_Log_Pos) >= Number(m!.Position)) break;
      await sleep(200);
    }
    const started = Date.now();
    await r.query('START SLAVE SQL_THREAD');
    const done = await waitCount(r, 'bench.drain', backlog, 600_000);
    return Math.round(backlog / ((done - started) / 1000));
  } finally {
    await r.end();
    await stopProcess(pid, join(spec.dir, 'data'));
  }
}

/** DRC's drain, then the native replica's, single-threaded and parallel, over the same backlog. */
export async function runDrain(sandbox: BenchSandbox, options: BenchOptions): Promise<DrainResult> {
  const drc = await drainDrc(sandbox, options);
  say(`  DRC: ${drc.txPerSec} tx/s`);
  const nativeSingle = await drainNative(sandbox.info, sandbox.startPos, false, options.sizes.backlog);
  say(`  native single-threaded: ${nativeSingle} tx/s`);
  const nativeParallel = await drainNative(sandbox.info, sandbox.startPos, true, options.sizes.backlog);
  say(`  native parallel (8 threads, aggressive): ${nativeParallel} tx/s`);
  return { ...drc, nativeSingle, nativeParallel };
}
