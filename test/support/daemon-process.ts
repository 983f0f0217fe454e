import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { onTestFailed } from 'vitest';
import { freePort } from '../../src/sandbox/ports.js';
import { DRC_BIN } from './cli.js';
import { fetchHealth, fetchMetrics, metricSum, type HealthReply } from './daemon-http.js';
import { DAEMON_LOG_DIR } from './infra.js';
import { waitFor } from './wait.js';

export { DAEMON_LOG_DIR };

/**
 * A `drc` child process (usually `drc run`). Its output goes to a file under the test sandbox and
 * is kept in `log` for assertions on what it said; it reaches the test output only when the test
 * fails. Readiness and progress come from its `/healthz` and `/metrics`, never from its log text.
 */
export class DaemonProcess {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Where `/healthz` and `/metrics` answer (undefined when the command serves neither). */
  readonly metricsPort: number | undefined;
  /** The file holding this process's output. */
  readonly logFile: string;
  private readonly logStream: WriteStream;

  /**
   * Spawn `drc <args>`. With `metricsPort`, `--metrics-port` is added (or read from `args`); prefer
   * `DaemonProcess.start`, which picks a free port itself.
   */
  constructor(
    private readonly args: string[],
    env: NodeJS.ProcessEnv = {},
    metricsPort?: number,
  ) {
    const given = args.indexOf('--metrics-port');
    this.metricsPort = given >= 0 ? Number(args[given + 1]) : metricsPort;
    const argv = given < 0 && metricsPort !== undefined ? [...args, '--metrics-port', String(metricsPort)] : args;
    this.child = spawn(process.execPath, [DRC_BIN, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    mkdirSync(DAEMON_LOG_DIR, { recursive: true });
    this.logFile = join(DAEMON_LOG_DIR, `${args.slice(0, 1).concat(ezoneOf(args) ?? []).join('-')}-${this.child.pid}.log`);
    this.logStream = createWriteStream(this.logFile);
    const take = (d: Buffer) => {
      this.log += d.toString();
      this.logStream.write(d);
    };
    this.child.stderr?.on('data', take);
    this.child.stdout?.on('data', take);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.logStream.end();
        resolve({ code, signal });
      }),
    );
    // When the test fails, show what this daemon said: its warnings first, then its last lines.
    onTestFailed(() => {
      const lines = this.log.split('\n').filter(Boolean);
      const warnings = lines.filter((l) => /"level":(40|50|60)/.test(l) && !l.includes('"component":"kafka"'));
      process.stderr.write(
        `\n--- drc ${argv.join(' ')} (pid ${this.child.pid}; whole log: ${this.logFile}) warnings ---\n${warnings.slice(0, 10).join('\n')}\n--- last lines ---\n${lines.slice(-8).join('\n')}\n`,
      );
    });
  }

  /** `drc <args>` with `/healthz` and `/metrics` on a free port. */
  static async start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
    return new DaemonProcess(args, env, args.includes('--metrics-port') ? undefined : await freePort());
  }

  get pid(): number {
    return this.child.pid as number;
  }

  private port(): number {
    if (this.metricsPort === undefined) throw new Error(`drc ${this.args.join(' ')} has no metrics port: start it with DaemonProcess.start`);
    return this.metricsPort;
  }

  /** Its `/healthz` now. */
  health(): Promise<HealthReply> {
    return fetchHealth(this.port());
  }

  /** Its `/metrics` now (Prometheus text). */
  metrics(): Promise<string> {
    return fetchMetrics(this.port());
  }

  /** The sum of one metric's samples matching `labels`, now. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricSum(await this.metrics(), name, labels);
  }

  /**
   * Wait until `/healthz` reports `role` (`active`: it holds the lease and its stages run — what
   * "ready" means; `standby`: it waits for the lease). Fails at once if the process exits.
   */
  async waitRole(role: 'active' | 'standby', timeoutMs = 30_000): Promise<HealthReply> {
    try {
      return await waitFor(() => this.health(), {
        what: `drc ${this.args.join(' ')} to report role ${role} on /healthz (port ${this.port()})`,
        until: (h) => h.role === role,
        timeoutMs,
        intervalMs: 50,
        ignoreErrors: true, // connection refused until its HTTP server listens
        abort: () => (this.child.exitCode !== null || this.child.signalCode !== null ? `the process exited (${this.child.exitCode ?? this.child.signalCode})` : undefined),
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- its last output ---\n${this.log.slice(-2000)}`);
    }
  }

  /** Wait until the daemon is active (see `waitRole`). */
  waitActive(timeoutMs = 30_000): Promise<HealthReply> {
    return this.waitRole('active', timeoutMs);
  }

  /**
   * Wait until a log line contains `text`. Only for what a process prints that no endpoint tells
   * (the demo's own screen, for instance); never for a daemon's readiness or progress.
   */
  async waitForLog(text: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.log.includes(text), {
      what: `drc ${this.args.join(' ')} to print "${text}"`,
      timeoutMs,
      intervalMs: 50,
      abort: () => (this.child.exitCode !== null ? `the process exited (${this.child.exitCode})\n${this.log.slice(-2000)}` : undefined),
    });
  }

  /** Resident memory now, in MB (Linux). */
  rssMb(): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** Freeze (SIGSTOP) or thaw (SIGCONT) the process. */
  signal(signal: 'SIGSTOP' | 'SIGCONT' | 'SIGTERM' | 'SIGINT'): void {
    this.child.kill(signal);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.child.kill(signal);
    await this.exited;
  }
}

function ezoneOf(args: string[]): string | undefined {
  const i = args.indexOf('--ezone');
  return i >= 0 ? args[i + 1] : undefined;
}
