/**
 * `npm run bench [-- --quick]`: DRC measured side by side with MariaDB's own replication, on this
 * machine, in one run. Writes bench/results/latest.json, latest.md (table with ratios) and lag.svg.
 *
 * - drain: a backlog of single-row transactions in ezone a, applied into ezone b by DRC, and the same
 *   binlog range applied by a native MariaDB replica (single-threaded, then parallel).
 * - lag: both ezones write at a fixed rate; every row carries its send time; a poller in the other
 *   ezone records when it becomes visible.
 * - mixed: inserts, updates and deletes from both ezones on shared keys (conflicts), checked to converge.
 * - capture: row changes decoded and shipped per second, catching up a backlog of multi-row transactions.
 * - rssMb: the daemons' resident memory, sampled throughout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import { TransactionAssembler } from '../src/capture/assembler.js';
import { BinlogSource } from '../src/capture/binlog-source.js';
import { TableFilter } from '../src/config/table-filter.js';
import { loadConfig } from '../src/config/loader.js';
import { createLogger } from '../src/ops/logger.js';
import { DAEMON_NODE_OPTIONS as RECOMMENDED_NODE_OPTIONS } from '../src/ops/runtime.js';
import { initMariaDb, startMariaDb, waitMariaDbReady, bootstrapMariaDb, type MariaDbSpec } from '../src/sandbox/mariadb.js';
import { freePort } from '../src/sandbox/ports.js';
import { ensurePrerequisites, MARIADB_SERVER } from '../src/sandbox/prerequisites.js';
import { isRunning, stopProcess } from '../src/sandbox/processes.js';
import { sandboxDown, sandboxUp, type SandboxInfo } from '../src/sandbox/sandbox.js';
import { summariseDir } from './profile.js';

const quick = process.argv.includes('--quick');
/** `--profile`: daemons run with --cpu-prof; a summary of the hottest functions per phase is printed. */
const profile = process.argv.includes('--profile');
/** `--only=lag,capture`: run only these phases (for profiling one path); the JSON then holds only them. */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const runs = (phase: 'drain' | 'lag' | 'mixed' | 'capture' | 'big') => !only || only.includes(phase);
const P = quick
  ? { backlog: 20_000, loadTxPerSec: 500, loadSeconds: 20, captureRows: 100_000, mixedTxPerSec: 200, mixedSeconds: 15, bigRows: 100_000 }
  : { backlog: 100_000, loadTxPerSec: 1000, loadSeconds: 60, captureRows: 500_000, mixedTxPerSec: 500, mixedSeconds: 60, bigRows: 1_000_000 };
/** Node options of the daemons: those the deploy artefacts use, unless DRC_BENCH_NODE_OPTIONS says otherwise. */
const DAEMON_NODE_OPTIONS = process.env.DRC_BENCH_NODE_OPTIONS ?? RECOMMENDED_NODE_OPTIONS;
/** Keys both ezones write in the mixed phase: small enough that they collide. */
const MIXED_KEYS = 2000;
const ROOT = resolve(new URL('..', import.meta.url).pathname, '..');
const DIR = join(ROOT, '.bench-sandbox');
/** `--out=<dir>`: where the results go (default bench/results, which is committed). */
const OUT = resolve(process.argv.find((a) => a.startsWith('--out='))?.slice('--out='.length) ?? join(ROOT, 'bench', 'results'));
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const log = createLogger('warn');
const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Daemon {
  child: ChildProcess;
  rss: number[];
  /** user + system CPU seconds so far, from /proc/<pid>/stat (clock ticks of 1/100 s). */
  cpuSec: number;
  /** Where it serves /metrics. */
  port: number;
}

/** The daemon's memory as V8 sees it (prom-client's default metrics), in MB. */
async function memoryOf(d: Daemon): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
  const mb = (name: string) => Math.round(Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20);
  return { rss: mb('process_resident_memory_bytes'), heapTotal: mb('nodejs_heap_size_total_bytes'), heapUsed: mb('nodejs_heap_size_used_bytes'), external: mb('nodejs_external_memory_bytes') };
}

/** CPU seconds a daemon used between two readings, as a percentage of one core. */
const cpuPct = (cpuSec: number, wallMs: number) => Math.round((100 * cpuSec) / (wallMs / 1000));

async function startDaemon(config: string, ezone: string, phase: string): Promise<Daemon> {
  const port = await freePort();
  const fd = openSync(join(DIR, `drc-${ezone}.log`), 'w'); // fresh: waitLog must see this run's lines
  const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(DIR, 'profiles', phase)}`, `--cpu-prof-name=${ezone}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...prof, MAIN, 'run', '--config', config, '--ezone', ezone, '--metrics-port', String(port)], { stdio: ['ignore', fd, fd], env: { ...process.env, DRC_PROGRESS_MS: '500', NODE_OPTIONS: DAEMON_NODE_OPTIONS } });
  const d: Daemon = { child, rss: [], cpuSec: 0, port };
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

async function stopDaemon(d: Daemon): Promise<void> {
  if (d.child.exitCode !== null) return;
  d.child.kill('SIGTERM');
  await new Promise((r) => d.child.once('exit', r));
}

async function waitLog(ezone: string, text: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!readFileSync(join(DIR, `drc-${ezone}.log`), 'utf8').includes(text)) {
    if (Date.now() > deadline) throw new Error(`daemon ${ezone} did not log "${text}"`);
    await sleep(200);
  }
}

async function count(db: mysql.Connection, table: string): Promise<number> {
  const [[r]] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(r!.n);
}

async function waitCount(db: mysql.Connection, table: string, n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await count(db, table)) >= n) return Date.now();
    if (Date.now() > deadline) throw new Error(`${table}: fewer than ${n} rows after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Single-row transactions from a few connections, as fast as they go. */
async function writeBacklog(info: SandboxInfo, n: number): Promise<void> {
  const conns = await Promise.all([0, 1, 2, 3].map(() => mysql.createConnection({ ...info.ezones[0]!.mysql, database: 'bench' })));
  let next = 0;
  await Promise.all(
    conns.map(async (c) => {
      for (let i = next++; i < n; i = next++) await c.query('INSERT INTO drain (id, v) VALUES (?, ?)', [i, `row-${i}`]);
      await c.end();
    }),
  );
}

async function drainDrc(info: SandboxInfo, dbs: mysql.Connection[]): Promise<{ txPerSec: number; rssMb: number; cpuPct: number }> {
  say(`drain: writing ${P.backlog} single-row transactions in ezone a (daemon b stopped)…`);
  const a = await startDaemon(info.config, 'a', 'drain');
  await waitLog('a', 'drc running');
  await writeBacklog(info, P.backlog);
  await sleep(3000); // let capture ship everything to Kafka
  const spawned = Date.now();
  const b = await startDaemon(info.config, 'b', 'drain');
  // Timed from the first applied row, as the native replica is timed from its SQL thread's start:
  // both have the backlog at hand (Kafka, relay log); b's start-up (Kafka group join) is reported apart.
  const started = await waitCount(dbs[1]!, 'bench.drain', 1, 120_000);
  const cpuAtStart = b.cpuSec;
  const done = await waitCount(dbs[1]!, 'bench.drain', P.backlog, 600_000);
  const seconds = (done - started) / 1000;
  say(`  DRC start-up (spawn to first applied row): ${((started - spawned) / 1000).toFixed(1)} s`);
  const cpu = cpuPct(b.cpuSec - cpuAtStart, done - started); // the applying daemon, sampled every 500 ms
  await Promise.all([stopDaemon(a), stopDaemon(b)]);
  return { txPerSec: Math.round(P.backlog / seconds), rssMb: Math.max(...a.rss, ...b.rss), cpuPct: cpu };
}

/** A native MariaDB replica of ezone a, replaying the same binlog range. */
async function drainNative(info: SandboxInfo, startPos: string, parallel: boolean): Promise<number> {
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
    const master = await mysql.createConnection({ ...info.ezones[0]!.mysql });
    const [[m]] = await master.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    await master.end();
    for (;;) {
      const [[st]] = await r.query<mysql.RowDataPacket[]>('SHOW SLAVE STATUS');
      if (st?.Master_Log_File === m!.File && Number(st?.Read_Master_Log_Pos) >= Number(m!.Position)) break;
      await sleep(200);
    }
    const started = Date.now();
    await r.query('START SLAVE SQL_THREAD');
    const done = await waitCount(r, 'bench.drain', P.backlog, 600_000);
    return Math.round(P.backlog / ((done - started) / 1000));
  } finally {
    await r.end();
    await stopProcess(pid, join(spec.dir, 'data'));
  }
}

/**
 * Both ezones write `rate` single-row tx/s each; the other ezone's poller timestamps each row's
 * arrival. Ids are dense per ezone, so a row that becomes visible after a higher id is polled for
 * until it arrives (no sample is lost to out-of-order commits). The first seconds at full load are a
 * warm-up (JIT, pools, caches) and are not sampled.
 */
async function measureLag(info: SandboxInfo): Promise<{ samples: { t: number; lagMs: number }[]; rssMb: number; cpuPct: number; memory: Record<string, number>; sourceCommitP50Ms: number; sourceCommitP99Ms: number }> {
  const warmupMs = quick ? 5000 : 10_000;
  say(`lag: ${P.loadTxPerSec} tx/s each way for ${P.loadSeconds} s after a ${warmupMs / 1000} s warm-up…`);
  const daemons = await Promise.all([startDaemon(info.config, 'a', 'lag'), startDaemon(info.config, 'b', 'lag')]);
  await Promise.all([waitLog('a', 'drc running'), waitLog('b', 'drc running')]);
  await sleep(2000);
  const samples: { t: number; lagMs: number }[] = [];
  const commits: number[] = []; // how long the source INSERT (autocommit) took: part of every sample
  let running = true;
  const t0 = Date.now();
  const measuredFrom = t0 + warmupMs;
  const BASE = 1_000_000_000;
  const sentBy = [0, 0];
  const writers = info.ezones.map(async (e, i) => {
    const conns = await Promise.all([0, 1, 2, 3].map(() => mysql.createConnection({ ...e.mysql, database: 'bench' })));
    const perConn = async (c: mysql.Connection) => {
      while (running) {
        const due = t0 + (sentBy[i]! * 1000) / P.loadTxPerSec;
        if (Date.now() < due) await sleep(due - Date.now());
        const id = i * BASE + sentBy[i]!++;
        const t = performance.now();
        await c.query('INSERT INTO load_t (id, sent_us) VALUES (?, ?)', [id, Math.round(performance.timeOrigin * 1000 + t * 1000)]);
        if (Date.now() >= measuredFrom) commits.push(performance.now() - t);
      }
      await c.end();
    };
    await Promise.all(conns.map(perConn));
  });
  let writing = true;
  let stoppedAt = 0;
  const pollers = info.ezones.map(async (e, i) => {
    const c = await mysql.createConnection({ ...e.mysql, database: 'bench', supportBigNumbers: true });
    const origin = 1 - i;
    let last = origin * BASE - 1;
    const missing = new Set<number>(); // ids below `last` not visible yet
    // After the writers stop, keep polling (up to 10 s) until every written row has arrived.
    const deadline = () => (writing ? Infinity : stoppedAt + 10_000);
    while (Date.now() < deadline() && (writing || missing.size > 0 || last < origin * BASE + sentBy[origin]! - 1)) {
      const gaps = [...missing];
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        `SELECT id, sent_us FROM load_t WHERE (id > ? AND id < ?)${gaps.length ? ' OR id IN (?)' : ''} ORDER BY id`,
        gaps.length ? [last, (origin + 1) * BASE, gaps] : [last, (origin + 1) * BASE],
      );
      const now = performance.timeOrigin * 1000 + performance.now() * 1000;
      for (const r of rows) {
        const id = Number(r.id);
        if (id > last) {
          for (let g = last + 1; g < id; g++) missing.add(g);
          last = id;
        } else {
          missing.delete(id);
        }
        const sentUs = Number(r.sent_us);
        if (sentUs / 1000 >= measuredFrom) samples.push({ t: sentUs / 1000 - measuredFrom, lagMs: (now - sentUs) / 1000 });
      }
      await sleep(2);
    }
    await c.end();
  });
  await sleep(warmupMs);
  const cpuBefore = daemons.map((d) => d.cpuSec);
  await sleep(P.loadSeconds * 1000);
  const cpu = daemons.map((d, i) => cpuPct(d.cpuSec - cpuBefore[i]!, P.loadSeconds * 1000));
  const memory = await memoryOf(daemons[0]!);
  running = false;
  await Promise.all(writers);
  stoppedAt = Date.now();
  writing = false;
  await Promise.all(pollers);
  await Promise.all(daemons.map(stopDaemon));
  commits.sort((x, y) => x - y);
  const written = sentBy.reduce((x, y) => x + y, 0);
  say(`  ${samples.length} samples; ${written} rows written in all, warm-up included`);
  return { samples, rssMb: Math.max(...daemons.flatMap((d) => d.rss.slice(4))), cpuPct: Math.max(...cpu), memory, sourceCommitP50Ms: percentile(commits, 50), sourceCommitP99Ms: percentile(commits, 99) };
}

/** Order-independent fingerprint of a table's rows (count and CRC sum of every column). */
async function fingerprint(db: mysql.Connection, table: string, columns: string): Promise<string> {
  const [[r]] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('|', ${columns}))), 0) AS h FROM ${table}`);
  return `${r!.n}:${r!.h}`;
}

/**
 * Mixed, bidirectional, conflicting: both ezones run inserts, updates and deletes (2:2:1, three rows
 * per transaction) on the same small key range at a fixed rate. Reports what was applied, how many
 * conflicts were resolved, and how long after the load stopped both ezones held identical rows.
 */
async function measureMixed(info: SandboxInfo, dbs: mysql.Connection[]): Promise<{ txPerSec: number; conflicts: number; convergedMs: number; rows: number }> {
  say(`mixed: insert/update/delete on ${MIXED_KEYS} shared keys, ${P.mixedTxPerSec} tx/s each way for ${P.mixedSeconds} s…`);
  const daemons = await Promise.all([startDaemon(info.config, 'a', 'mixed'), startDaemon(info.config, 'b', 'mixed')]);
  await Promise.all([waitLog('a', 'drc running'), waitLog('b', 'drc running')]);
  const t0 = Date.now();
  let running = true;
  let sent = 0;
  let rand = 42;
  const random = (n: number) => ((rand = (rand * 1103515245 + 12345) % 2 ** 31), Math.floor((rand / 2 ** 31) * n)); // reproducible; high bits
  const writers = info.ezones.map(async (e) => {
    const conns = await Promise.all([0, 1, 2, 3].map(() => mysql.createConnection({ ...e.mysql, database: 'bench' })));
    let due = 0;
    await Promise.all(
      conns.map(async (c) => {
        while (running) {
          const at = t0 + (due++ * 1000) / P.mixedTxPerSec;
          if (Date.now() < at) await sleep(at - Date.now());
          const statements = [0, 1, 2].map(() => {
            const id = random(MIXED_KEYS);
            const kind = random(5);
            if (kind < 2) return `INSERT INTO mixed (id, v, note) VALUES (${id}, ${random(1000)}, '${e.name}') ON DUPLICATE KEY UPDATE v = VALUES(v), note = VALUES(note)`;
            if (kind < 4) return `UPDATE mixed SET v = v + 1, note = '${e.name}' WHERE id = ${id}`;
            return `DELETE FROM mixed WHERE id = ${id}`;
          });
          try {
            await c.query('BEGIN');
            for (const q of statements) await c.query(q);
            await c.query('COMMIT');
            sent++;
          } catch (err) {
            // Writers of one ezone (and the applier) touch the same rows: a deadlock is part of the game.
            if (!['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'].includes((err as { code?: string }).code ?? '')) throw err;
            await c.query('ROLLBACK');
          }
        }
        await c.end();
      }),
    );
  });
  await sleep(P.mixedSeconds * 1000);
  running = false;
  await Promise.all(writers);
  const stopped = Date.now();
  const columns = 'id, v, note, updated_at';
  let convergedMs = NaN;
  for (let stable = 0; Date.now() - stopped < 120_000; await sleep(100)) {
    const [fa, fb] = await Promise.all(dbs.map((d) => fingerprint(d, 'bench.mixed', columns)));
    stable = fa === fb ? stable + 1 : 0;
    if (stable === 1) convergedMs = Date.now() - stopped;
    if (stable >= 20) break; // identical for 2 s: not a passing coincidence
  }
  let conflicts = 0;
  for (const d of dbs) {
    const [[r]] = await d.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM drc_meta.conflicts WHERE schema_name = 'bench' AND table_name = 'mixed'");
    conflicts += Number(r!.n);
  }
  await Promise.all(daemons.map(stopDaemon));
  const rows = await count(dbs[0]!, 'bench.mixed');
  if (Number.isNaN(convergedMs)) throw new Error('mixed: the ezones did not converge within 120 s of the load stopping');
  say(`  ${sent} transactions, ${conflicts} conflicts resolved, identical ${convergedMs} ms after the load stopped (${rows} rows)`);
  return { txPerSec: Math.round(sent / ((stopped - t0) / 1000)), conflicts, convergedMs, rows };
}

/**
 * One huge transaction (rows of 1 kB: 1 GB in the full bench) written in ezone a while both daemons
 * run: each daemon's peak RSS while it passes through (capture in a, apply in b).
 */
async function measureBig(info: SandboxInfo, dbs: mysql.Connection[]): Promise<{ mb: number; seconds: number; captureRssMb: number; applyRssMb: number }> {
  const mb = Math.round((P.bigRows * 1000) / 1e6);
  say(`big: one transaction of ${P.bigRows} rows of 1 kB (${mb} MB) from a to b…`);
  const [a, b] = await Promise.all([startDaemon(info.config, 'a', 'big'), startDaemon(info.config, 'b', 'big')]);
  await Promise.all([waitLog('a', 'drc running'), waitLog('b', 'drc running')]);
  const started = Date.now();
  await dbs[0]!.query(`INSERT INTO bench.big (id, pad) SELECT seq, REPEAT('x', 1000) FROM bench.seq_1_to_${P.bigRows}`);
  const done = await waitCount(dbs[1]!, 'bench.big', P.bigRows, 1_200_000);
  await Promise.all([stopDaemon(a!), stopDaemon(b!)]);
  const seconds = (done - started) / 1000;
  say(`  applied in b ${seconds.toFixed(1)} s after the insert started; peak RSS a ${Math.round(Math.max(...a!.rss))} MB, b ${Math.round(Math.max(...b!.rss))} MB`);
  return { mb, seconds, captureRssMb: Math.round(Math.max(...a!.rss)), applyRssMb: Math.round(Math.max(...b!.rss)) };
}

/** Where the capture phase's backlog starts in ezone a's binlog (for the decode-only measure). */
let backlogStart = '';

/**
 * Capture's decode alone, in this process: binlog events of the capture backlog read with the
 * daemon's own source and assembler (row images → changes, notifications, chunk messages), nothing
 * sent to Kafka. The daemon's catch-up (measureCapture) adds the Kafka shipping to this.
 */
async function measureDecode(info: SandboxInfo): Promise<number> {
  const config = loadConfig(info.config);
  let rows = 0;
  let first = 0;
  let last = 0;
  let fail: ((err: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  let reached: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (reached = resolve));
  const assembler = new TransactionAssembler(
    {
      ezone: 'a',
      filter: new TableFilter(config),
      maxMessageBytes: config.kafka.maxMessageBytes,
      emit: (part) => {
        if (part.rows === 0) return;
        first ||= performance.now();
        rows += part.rows;
        last = performance.now();
        if (rows >= P.captureRows) reached?.();
      },
    },
    backlogStart,
  );
  const source = new BinlogSource({
    mysql: config.ezones.a!.mysql,
    serverId: 4242,
    heartbeatMs: 1000,
    log,
    onEvent: (ev) => assembler.push(ev),
    onError: (err) => fail?.(err),
  });
  source.start(backlogStart);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('decode: backlog not read in 5 minutes')), 300_000)));
  try {
    await Promise.race([done, failed, timeout]);
  } finally {
    clearTimeout(timer); // a pending timer would keep the bench process alive
    await source.stop();
  }
  const rate = Math.round(rows / ((last - first) / 1000));
  say(`  decode only (no Kafka): ${rows} row changes in ${((last - first) / 1000).toFixed(1)} s`);
  return rate;
}

/**
 * Capture catch-up: a backlog of multi-row transactions is written while the daemon is stopped, then
 * the daemon decodes and ships it. The rate comes from its progress lines (every 500 ms), from the
 * first one with rows shipped to the one that reports the whole backlog, so start-up is excluded and
 * the rate is not capped by how fast the server can write.
 */
async function measureCapture(info: SandboxInfo, dbs: mysql.Connection[]): Promise<number> {
  say(`capture: a backlog of ${P.captureRows} row changes in 1,000-row transactions…`);
  // The backlog must lie after capture's resume point on Kafka (a first start begins at the binlog end).
  const setup = await startDaemon(info.config, 'a', 'capture-setup');
  await waitLog('a', 'drc running');
  await sleep(2000); // heartbeats ship: the resume point is on Kafka
  await stopDaemon(setup);
  const [[pos]] = await dbs[0]!.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS p');
  backlogStart = String(pos!.p);
  for (let i = 0; i < P.captureRows; i += 1000) {
    await dbs[0]!.query(`INSERT INTO bench.cap (id, v) SELECT seq + ${i}, 'x' FROM bench.seq_1_to_1000`);
  }
  const a = await startDaemon(info.config, 'a', 'capture');
  const deadline = Date.now() + 600_000;
  let progress: { time: number; rowChanges: number }[] = [];
  while ((progress.at(-1)?.rowChanges ?? 0) < P.captureRows) {
    if (Date.now() > deadline) throw new Error('capture did not ship the backlog in 10 minutes');
    await sleep(500);
    progress = readFileSync(join(DIR, 'drc-a.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"capture progress"'))
      .map((l) => JSON.parse(l) as { time: string; rowChanges: number })
      .map((l) => ({ time: Date.parse(l.time), rowChanges: l.rowChanges }));
  }
  await stopDaemon(a);
  const first = progress.find((p) => p.rowChanges > 0)!;
  const last = progress.find((p) => p.rowChanges >= P.captureRows)!;
  say(`  ${last.rowChanges - first.rowChanges} row changes in ${((last.time - first.time) / 1000).toFixed(1)} s`);
  return Math.round((last.rowChanges - first.rowChanges) / ((last.time - first.time) / 1000));
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10 : NaN;
}

function svg(samples: { t: number; lagMs: number }[]): string {
  const W = 800;
  const H = 300;
  const maxT = Math.max(1, ...samples.map((s) => s.t));
  const maxL = Math.max(10, ...samples.map((s) => s.lagMs));
  const points = samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 2000)) === 0).map((s) => `${((s.t / maxT) * (W - 60) + 50).toFixed(1)},${(H - 30 - (s.lagMs / maxL) * (H - 50)).toFixed(1)}`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="50" y="14">DRC end-to-end lag (ms) over time (s) at ${P.loadTxPerSec} tx/s each way</text>
<line x1="50" y1="${H - 30}" x2="${W - 10}" y2="${H - 30}" stroke="black"/><line x1="50" y1="20" x2="50" y2="${H - 30}" stroke="black"/>
<text x="5" y="24">${Math.round(maxL)}</text><text x="30" y="${H - 30}">0</text><text x="${W - 40}" y="${H - 12}">${Math.round(maxT / 1000)} s</text>
<polyline fill="none" stroke="steelblue" stroke-width="0.8" points="${points.join(' ')}"/>
</svg>
`;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await sandboxDown({ dir: DIR, log });
  rmSync(join(DIR, 'profiles'), { recursive: true, force: true }); // only this run's
  const info = await sandboxUp({ dir: DIR, ezones: 2, log });
  mkdirSync(DIR, { recursive: true });
  writeFileSync(info.config, `${readFileSync(info.config, 'utf8')}log:\n  level: debug\n${process.env.DRC_BENCH_EXTRA_CONFIG ?? ""}`);
  const dbs = await Promise.all(info.ezones.map((e) => mysql.createConnection(e.mysql)));
  for (const db of dbs) {
    await db.query('CREATE DATABASE bench');
    await db.query('CREATE TABLE bench.drain (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    await db.query('CREATE TABLE bench.load_t (id BIGINT PRIMARY KEY, sent_us BIGINT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    await db.query('CREATE TABLE bench.mixed (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    await db.query('CREATE TABLE bench.big (id INT PRIMARY KEY, pad TEXT NOT NULL)');
    await db.query('CREATE TABLE bench.cap (id INT PRIMARY KEY, v VARCHAR(8) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
  }
  const [[pos]] = await dbs[0]!.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS p');
  const startPos = String(pos!.p);

  const none = { txPerSec: NaN, rssMb: NaN, cpuPct: NaN };
  const drc = runs('drain') ? await drainDrc(info, dbs) : none;
  say(`  DRC: ${drc.txPerSec} tx/s`);
  const nativeSingle = runs('drain') ? await drainNative(info, startPos, false) : NaN;
  say(`  native single-threaded: ${nativeSingle} tx/s`);
  const nativeParallel = runs('drain') ? await drainNative(info, startPos, true) : NaN;
  say(`  native parallel (8 threads, aggressive): ${nativeParallel} tx/s`);
  const lag = runs('lag') ? await measureLag(info) : { samples: [], rssMb: NaN, cpuPct: NaN, memory: {}, sourceCommitP50Ms: NaN, sourceCommitP99Ms: NaN };
  const sorted = lag.samples.map((s) => s.lagMs).sort((x, y) => x - y);
  const mixed = runs('mixed') ? await measureMixed(info, dbs) : { txPerSec: NaN, conflicts: NaN, convergedMs: NaN, rows: NaN };
  const capture = runs('capture') ? await measureCapture(info, dbs) : NaN;
  const decode = runs('capture') ? await measureDecode(info) : NaN;
  const big = runs('big') ? await measureBig(info, dbs) : { mb: NaN, seconds: NaN, captureRssMb: NaN, applyRssMb: NaN };
  await Promise.all(dbs.map((d) => d.end()));

  const result = {
    at: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: `${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s+:\s+(.*)/)?.[1] ?? 'unknown'}, ${(await import('node:os')).cpus().length} cores`,
    drain: { backlogTx: P.backlog, drcTxPerSec: drc.txPerSec, nativeParallelTxPerSec: nativeParallel, nativeSingleTxPerSec: nativeSingle, daemonCpuPct: drc.cpuPct, rssMb: Math.round(drc.rssMb) },
    lag: { loadTxPerSec: P.loadTxPerSec, seconds: P.loadSeconds, samples: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), p999Ms: percentile(sorted, 99.9), maxMs: percentile(sorted, 100), daemonCpuPct: lag.cpuPct, rssMb: Math.round(lag.rssMb), memoryOfA: lag.memory, sourceCommitP50Ms: lag.sourceCommitP50Ms, sourceCommitP99Ms: lag.sourceCommitP99Ms },
    mixed: { offeredTxPerSecEachWay: P.mixedTxPerSec, seconds: P.mixedSeconds, txPerSec: mixed.txPerSec, keys: MIXED_KEYS, conflicts: mixed.conflicts, convergedMsAfterLoad: mixed.convergedMs, rows: mixed.rows },
    capture: { rowChangesPerSec: capture, decodeOnlyRowChangesPerSec: decode },
    bigTransaction: { rows: P.bigRows, mb: big.mb, seconds: big.seconds, captureRssMb: big.captureRssMb, applyRssMb: big.applyRssMb },
    // Steady state: the lag phase at a fixed load (the drain's catch-up burst is reported in drain.rssMb).
    rssMb: Math.round(lag.rssMb),
  };
  writeFileSync(join(OUT, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  const ratio = (x: number, y: number) => (y > 0 ? `${(x / y).toFixed(2)}×` : '-');
  const md = [
    `| measure (${result.mode}, ${result.machine}) | DRC | native single | native parallel | DRC / native parallel | target |`,
    '|---|---|---|---|---|---|',
    `| drain of ${P.backlog} single-row tx (tx/s) | ${drc.txPerSec} | ${nativeSingle} | ${nativeParallel} | ${ratio(drc.txPerSec, nativeParallel)} | ≥ 1× |`,
    `| lag p50 / p99 / p99.9 at ${P.loadTxPerSec} tx/s each way (ms) | ${result.lag.p50Ms} / ${result.lag.p99Ms} / ${result.lag.p999Ms} | | | | ≤ 50 / 250 / 1000 |`,
    `| mixed insert/update/delete, both ways on ${MIXED_KEYS} shared keys: tx/s, conflicts, identical after (ms) | ${mixed.txPerSec} tx/s, ${mixed.conflicts} conflicts, ${mixed.convergedMs} ms | | | | converges |`,
    `| capture of a backlog of 1,000-row tx (row changes/s): decode alone / decode and ship to Kafka | ${decode} / ${capture} | | | | ≥ 50,000 decode |`,
    `| daemon RSS (MB): steady at ${P.loadTxPerSec} tx/s each way / peak while draining | ${result.rssMb} / ${result.drain.rssMb} | | | | ≤ 150 steady |`,
    `| daemon RSS (MB) while a ${big.mb} MB transaction passes: capture / apply | ${big.captureRssMb} / ${big.applyRssMb} | | | | ≤ 256 (1 GB) |`,
    `| daemon CPU, % of one core (applying in drain / busiest in lag) | ${drc.cpuPct} / ${lag.cpuPct} | | | | |`,
    '',
  ].join('\n');
  writeFileSync(join(OUT, 'latest.md'), md);
  writeFileSync(join(OUT, 'lag.svg'), svg(lag.samples));
  say(`\n${md}`);
  if (profile) say(`\n${summariseDir(join(DIR, 'profiles'))}`);
  await sandboxDown({ dir: DIR, log });
}

main().catch(async (err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  await sandboxDown({ dir: DIR, log }).catch(() => undefined);
  process.exit(1);
});
