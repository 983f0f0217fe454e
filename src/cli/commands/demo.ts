import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import mysql from 'mysql2/promise';
import { loadConfig } from '../../config/loader.js';
import { listConflicts } from '../../admin/conflicts.js';
import { collectLag } from '../../admin/lag.js';
import { createLogger } from '../../ops/logger.js';
import { freePort } from '../../sandbox/ports.js';
import { createBrokerInspector } from '../../transport/select.js';
import { DEFAULT_SANDBOX_DIR, sandboxUp, type SandboxInfo } from '../../sandbox/sandbox.js';
import { formatTable } from '../output.js';
import { positiveInt } from '../parse.js';
import { SandboxError } from '../../errors.js';
import { sandboxConnectionOptions } from '../../sandbox/admin-account.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const TABLE = `CREATE TABLE IF NOT EXISTS demo.accounts (
  id INT AUTO_INCREMENT PRIMARY KEY,
  owner VARCHAR(8) NOT NULL COMMENT 'ezone that created the row',
  balance INT NOT NULL,
  note VARCHAR(40) NOT NULL,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
)`;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('sandbox up + a daemon per ezone + a mixed workload with conflicts, showing live lag and conflicts (Ctrl-C stops)')
    .option('--dir <dir>', 'sandbox folder', DEFAULT_SANDBOX_DIR)
    .option('--duration <seconds>', 'stop by itself after this long', positiveInt)
    .option('--tls', 'on a TLS-only sandbox (as `drc sandbox up --tls`); a sandbox already running in --dir is used as it is')
    .action(async (opts: { dir: string; duration?: number; tls?: boolean }) => {
      const log = createLogger('warn');
      const out = (text: string) => process.stdout.write(text);
      out(`DRC demo: starting the sandbox (2 MariaDB servers + Kafka${opts.tls ? ', TLS only' : ''})…\n`);
      const info = await sandboxUp({ dir: opts.dir, ezones: 2, ...(opts.tls ? { tls: true } : {}), log });
      const dbs = await Promise.all(info.ezones.map((e) => mysql.createConnection(sandboxConnectionOptions(e.mysql, { timezone: 'Z', dateStrings: true }))));
      for (const db of dbs) {
        await db.query('CREATE DATABASE IF NOT EXISTS demo');
        await db.query(TABLE);
      }
      const logs = join(resolve(opts.dir), 'logs');
      mkdirSync(logs, { recursive: true });
      const daemons: Daemon[] = [];
      for (const e of info.ezones) daemons.push(startDaemon(info.config, e.name, join(logs, `drc-${e.name}.log`), await freePort()));
      // Ready means active on /healthz (lease held, capture's start point fixed): the workload must not
      // start before, or the first rows are written before capture reads the binlog. A log line would
      // not do: the log files are appended to, and a previous run's lines are still in them.
      try {
        await Promise.all(daemons.map((d) => waitActive(d, 60_000)));
      } catch (err) {
        for (const d of daemons) d.child.kill('SIGTERM');
        await Promise.all(dbs.map((db) => db.end()));
        throw err;
      }
      out(`daemons running (logs in ${logs}; health: ${daemons.map((d) => `http://127.0.0.1:${d.port}/healthz`).join(', ')}); writing in both ezones. Ctrl-C stops.\n`);

      const stats: WorkloadStats = { writes: 0, sameRowRounds: 0 };
      const startedAt = Date.now();
      let stopping = false;
      const workload = runWorkload(info, dbs, stats, () => stopping);
      const config = loadConfig(info.config);
      const view = setInterval(() => {
        void render(info, dbs, daemons, config, stats, startedAt, log).then(out, () => undefined);
      }, 1000);
      await new Promise<void>((resolveStop) => {
        process.once('SIGINT', () => resolveStop());
        process.once('SIGTERM', () => resolveStop());
        if (opts.duration) setTimeout(resolveStop, opts.duration * 1000).unref();
      });
      stopping = true;
      clearInterval(view);
      await workload;
      out('\nstopping: waiting for the ezones to agree…\n');
      const identical = await waitIdentical(dbs, 20_000);
      const summary = await summarise(info, dbs, config, startedAt);
      for (const d of daemons) d.child.kill('SIGTERM');
      const codes = await Promise.all(daemons.map(({ child }) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))))));
      await Promise.all(dbs.map((db) => db.end()));
      out(`${summary}\naccounts identical in every ezone: ${identical ? 'yes' : 'NO'}\ndaemons exited with ${codes.join(', ')}\n`);
      out(`the sandbox keeps running: drc sandbox down --dir ${opts.dir}\n`);
    });
}

/** A `drc run` child of the demo, with the port of its /healthz and /metrics. */
interface Daemon {
  ezone: string;
  child: ChildProcess;
  port: number;
  logFile: string;
}

/** What the demo's workload did (writes, not conflicts: only the daemons can tell what conflicted). */
interface WorkloadStats {
  writes: number;
  /** Times every ezone updated the same account at the same moment (each may or may not conflict). */
  sameRowRounds: number;
}

function startDaemon(config: string, ezone: string, logFile: string, port: number): Daemon {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [MAIN, 'run', '--config', config, '--ezone', ezone, '--metrics-port', String(port)], { stdio: ['ignore', fd, fd] });
  return { ezone, child, port, logFile };
}

/** Until the daemon's /healthz says role active; fails if it exits or the time runs out. */
async function waitActive(d: Daemon, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (d.child.exitCode !== null) throw new SandboxError(`the daemon of ezone ${d.ezone} exited (${d.child.exitCode}) before it was active; ${d.logFile} ends with:\n${tail(d.logFile, 5)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${d.port}/healthz`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { role?: string };
      if (body.role === 'active') return;
      last = `role ${body.role ?? '?'}`;
    } catch (err) {
      last = (err as Error).message; // not listening yet
    }
    if (Date.now() > deadline) throw new SandboxError(`the daemon of ezone ${d.ezone} was not active after ${timeoutMs / 1000} s (${last}); see ${d.logFile}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The last lines of a file (to say why a daemon stopped; never used to tell whether it runs). */
function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Conflicts the daemons detected since they started (drc_conflicts_total on their /metrics). */
async function conflictsDetected(daemons: Daemon[]): Promise<number> {
  let total = 0;
  for (const d of daemons) {
    const text = await (await fetch(`http://127.0.0.1:${d.port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    for (const line of text.split('\n')) if (line.startsWith('drc_conflicts_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return total;
}

/** New accounts and balance updates in every ezone; every 2 s both ezones write the same row at once. */
async function runWorkload(info: SandboxInfo, dbs: mysql.Connection[], stats: WorkloadStats, stopping: () => boolean): Promise<void> {
  let tick = 0;
  while (!stopping()) {
    tick++;
    await Promise.all(
      dbs.map(async (db, i) => {
        const owner = info.ezones[i]!.name;
        if (tick % 3 === 0) await db.query('UPDATE demo.accounts SET balance = balance + 1, note = ? WHERE owner = ? ORDER BY RAND() LIMIT 1', [`topped up in ${owner}`, owner]);
        else await db.query('INSERT INTO demo.accounts (owner, balance, note) VALUES (?, 100, ?)', [owner, `opened in ${owner}`]);
        stats.writes++;
      }),
    );
    if (tick % 40 === 0) {
      // A deliberate conflict: the same account changed in every ezone at the same moment.
      const [rows] = await dbs[0]!.query<mysql.RowDataPacket[]>('SELECT MIN(id) AS id FROM demo.accounts');
      const id = rows[0]?.id;
      if (id) {
        await Promise.all(dbs.map((db, i) => db.query('UPDATE demo.accounts SET balance = ?, note = ? WHERE id = ?', [1000 + i, `conflict written in ${info.ezones[i]!.name}`, id])));
        stats.sameRowRounds++;
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function render(info: SandboxInfo, dbs: mysql.Connection[], daemons: Daemon[], config: ReturnType<typeof loadConfig>, stats: WorkloadStats, startedAt: number, log: ReturnType<typeof createLogger>): Promise<string> {
  const counts = await Promise.all(dbs.map(async (db) => (await db.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM demo.accounts'))[0][0]?.n));
  const detected = await conflictsDetected(daemons).catch(() => undefined);
  const brokers = await createBrokerInspector(config.kafka, `${config.kafka.clientId}-lag`, log);
  const lag = await collectLag(config, log, brokers).finally(() => brokers.close());
  const conflicts = await listConflicts(config, { sinceMs: Date.now() - startedAt + 1000, limit: 5 });
  const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : '\n';
  return [
    `${clear}DRC demo — ${Math.round((Date.now() - startedAt) / 1000)} s, ${stats.writes} writes, ${detected ?? '?'} conflicts detected by the daemons; both ezones wrote the same account at once ${stats.sameRowRounds} times (Ctrl-C stops)`,
    '',
    formatTable(
      info.ezones.map((e, i) => ({ ezone: e.name, accounts: Number(counts[i] ?? 0) })),
      ['ezone', 'accounts'],
    ),
    '',
    formatTable(
      lag.map((p) => ({ ...p })),
      ['origin', 'destination', 'lagMs', 'backlog', 'skewMs'],
    ),
    '',
    conflicts.length === 0
      ? 'no conflicts yet'
      : formatTable(
          conflicts.map((c) => ({ at: c.at.slice(11, 23), ezone: c.ezone, origin: c.origin, key: JSON.stringify(c.key), reason: c.reason, decision: c.decision })),
          ['at', 'ezone', 'origin', 'key', 'reason', 'decision'],
        ),
    '',
  ].join('\n');
}

async function waitIdentical(dbs: mysql.Connection[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await Promise.all(dbs.map(async (db) => JSON.stringify((await db.query('SELECT * FROM demo.accounts ORDER BY id'))[0])));
    if (all.every((x) => x === all[0])) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function summarise(info: SandboxInfo, dbs: mysql.Connection[], config: ReturnType<typeof loadConfig>, startedAt: number): Promise<string> {
  const lines: string[] = [];
  for (const [i, dest] of info.ezones.entries()) {
    for (const origin of info.ezones) {
      if (origin.name === dest.name) continue;
      const [rows] = await dbs[i]!.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM demo.accounts WHERE owner = ?', [origin.name]);
      lines.push(`replicated ${origin.name} → ${dest.name}: ${rows[0]?.n ?? 0} accounts`);
    }
  }
  const conflicts = await listConflicts(config, { sinceMs: Date.now() - startedAt + 1000, limit: 100_000 });
  lines.push(`conflicts resolved: ${conflicts.length}`);
  return lines.join('\n');
}
