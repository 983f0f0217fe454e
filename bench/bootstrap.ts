/**
 * `npm run bench:bootstrap [-- --rows=N] [--concurrency=N] [--chunk-size=N] [--profile]`: the copy rate of `drc bootstrap` (rows/s) for a table of N
 * rows of about 200 bytes (default 1,000,000), next to `mysqldump | mysql` of the same table into the
 * same server, on this machine, in one run. A sandbox of its own (`.bench-bootstrap-sandbox/`, two
 * ezones): the rows are written into a before DRC runs (not in the binlog), daemons a and b run, and b
 * is bootstrapped from a; then the daemons stop, b's copy is emptied, and the dump of a is piped into
 * b by the MariaDB client (binlog on in both legs). Prints one JSON document and writes it to
 * bench/results/bootstrap.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { createLogger } from '../src/ops/logger.js';
import { sandboxDown, sandboxUp } from '../src/sandbox/sandbox.js';
import { startActive, stopDaemon, waitStreaming } from './harness/daemons.js';
import { MAIN, ROOT } from './harness/options.js';
import { summariseDir } from './profile.js';

const DIR = join(ROOT, '.bench-bootstrap-sandbox');
const log = createLogger('warn');
const rowsArg = process.argv.find((a) => a.startsWith('--rows='));
const ROWS = rowsArg ? Number(rowsArg.slice('--rows='.length)) : 1_000_000;
const argOf = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
/** `--concurrency=N`, `--chunk-size=N`: passed to drc bootstrap (defaults 2 and 2000). */
const CONCURRENCY = argOf('concurrency', '2');
const CHUNK = argOf('chunk-size', '2000');
/** `--profile`: a V8 CPU profile of the bootstrap process, summarised per package and function. */
const PROFILE = process.argv.includes('--profile');
const DDL = 'CREATE TABLE bench.boot (id BIGINT PRIMARY KEY, pad VARCHAR(180) NOT NULL, n INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))';

function run(command: string, args: string[], stdin?: 'pipe'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [stdin ?? 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `mysqldump … | mysql …` through a shell pipe; resolves to its wall time (ms). */
async function dumpAndLoad(from: { host: string; port: number; user: string; password: string }, to: typeof from): Promise<number> {
  const auth = (m: typeof from) => `-h ${m.host} -P ${m.port} -u ${m.user} -p'${m.password}'`;
  const t0 = Date.now();
  const r = await run('bash', ['-c', `set -o pipefail; mysqldump ${auth(from)} --single-transaction --no-create-info --skip-add-locks bench boot | mysql ${auth(to)} bench`]);
  if (r.code !== 0) throw new Error(`mysqldump | mysql failed: ${r.stderr}`);
  return Date.now() - t0;
}

async function main(): Promise<void> {
  await sandboxDown({ dir: DIR, log });
  const info = await sandboxUp({ dir: DIR, ezones: 2, log });
  const [a, b] = await Promise.all(info.ezones.map((e) => mysql.createConnection({ ...e.mysql, multipleStatements: true })));
  try {
    for (const db of [a!, b!]) {
      await db.query('CREATE DATABASE bench');
      await db.query(DDL);
    }
    await a!.query('USE bench');
    await a!.query('SET SESSION sql_log_bin = 0');
    for (let lo = 1; lo <= ROWS; lo += 100_000) {
      const hi = Math.min(ROWS, lo + 99_999);
      await a!.query(`INSERT INTO bench.boot (id, pad, n, updated_at) SELECT seq, REPEAT(CHAR(97 + seq % 26), 170), seq, TIMESTAMP('2026-01-01') + INTERVAL seq MICROSECOND FROM seq_${lo}_to_${hi}`);
    }
    await a!.query('SET SESSION sql_log_bin = 1');
    await a!.query('ANALYZE TABLE bench.boot');
    const [[size]] = await a!.query<mysql.RowDataPacket[]>("SELECT AVG_ROW_LENGTH AS avg FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bench' AND TABLE_NAME = 'boot'");

    const daemons = await startActive(info.config, ['a', 'b'], 'bootstrap', false);
    await waitStreaming(daemons);
    const t0 = Date.now();
    const prof = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(DIR, 'profiles', 'bootstrap')}`] : [];
    const boot = await run(process.execPath, [...prof, MAIN, 'bootstrap', '--config', info.config, '--ezone', 'b', '--from', 'a', '--tables', 'bench.boot', '--chunk-size', CHUNK, '--concurrency', CONCURRENCY, '--json']);
    const bootMs = Date.now() - t0;
    if (boot.code !== 0) throw new Error(`drc bootstrap exited ${boot.code}: ${boot.stderr}`);
    const report = JSON.parse(boot.stdout) as { tables: { seconds: number; rowsPerSec: number }[]; seconds: number };
    for (const d of daemons) await stopDaemon(d);
    process.stderr.write(`drc bootstrap: ${JSON.stringify(report.tables)}\n`);
    if (PROFILE) process.stderr.write(`${summariseDir(join(DIR, 'profiles'))}\n`);

    await b!.query('SET SESSION sql_log_bin = 0');
    await b!.query('TRUNCATE TABLE bench.boot');
    const dumpMs = await dumpAndLoad(info.ezones[0]!.mysql, info.ezones[1]!.mysql);
    const [[loaded]] = await b!.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM bench.boot');
    if (Number(loaded!.n) !== ROWS) throw new Error(`mysqldump | mysql loaded ${loaded!.n} of ${ROWS} rows`);

    const result = {
      at: new Date().toISOString(),
      rows: ROWS,
      concurrency: Number(CONCURRENCY),
      chunkSize: Number(CHUNK),
      avgRowBytes: Number(size!.avg),
      bootstrap: { copySeconds: report.tables[0]!.seconds, copyRowsPerSec: report.tables[0]!.rowsPerSec, totalSeconds: report.seconds, wallMs: bootMs },
      mysqldumpPipe: { seconds: dumpMs / 1000, rowsPerSec: Math.round(ROWS / (dumpMs / 1000)) },
      ratio: Number((report.tables[0]!.rowsPerSec / (ROWS / (dumpMs / 1000))).toFixed(2)),
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'bootstrap.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await Promise.all([a, b].map((c) => c?.end().catch(() => undefined)));
    await sandboxDown({ dir: DIR, log });
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
