import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { onTestFailed } from 'vitest';
import { DRC_BIN } from './cli.js';

/** A `drc run` child process, with its stderr log kept for assertions and diagnostics. */
export class DaemonProcess {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [DRC_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    // When the test fails, show what this daemon said: its warnings first, then its last lines.
    onTestFailed(() => {
      const lines = this.log.split('\n').filter(Boolean);
      const warnings = lines.filter((l) => /"level":(40|50|60)/.test(l) && !l.includes('"component":"kafka"'));
      process.stderr.write(`\n--- drc ${args.join(' ')} (pid ${this.child.pid}) warnings ---\n${warnings.slice(0, 10).join('\n')}\n--- last lines ---\n${lines.slice(-8).join('\n')}\n`);
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Wait until a log line contains `text`. */
  async waitForLog(text: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.log.includes(text)) {
      if (this.child.exitCode !== null) throw new Error(`daemon exited (${this.child.exitCode}) before logging "${text}":\n${this.log.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`daemon did not log "${text}" within ${timeoutMs} ms:\n${this.log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
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
