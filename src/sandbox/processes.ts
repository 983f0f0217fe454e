import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxError } from '../errors.js';

/**
 * Start a long-lived server that outlives this process: own process group, output to a log file.
 * Returns its pid.
 */
export function spawnDetached(command: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): number {
  const out = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], env: env ?? process.env });
    if (child.pid === undefined) throw new SandboxError(`could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/**
 * Whether `pid` runs and is the process we started (its command line contains `marker`), so a pid
 * recycled by the OS is not mistaken for ours.
 */
export function isRunning(pid: number | undefined, marker: string): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return cmdline.includes(marker);
  } catch {
    return true; // no /proc (not Linux): trust the signal probe
  }
}

/** Whether the pid exists at all (running, exiting, or a zombie not yet reaped). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM, wait up to `graceMs`, then SIGKILL; resolves once the process has exited and, where the
 * system reaps it promptly, its pid is gone.
 */
export async function stopProcess(pid: number, marker: string, graceMs = 30_000): Promise<void> {
  if (!isRunning(pid, marker)) return;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isRunning(pid, marker) && Date.now() < deadline) await sleep(100);
  if (isRunning(pid, marker)) {
    signal(pid, 'SIGKILL');
    const killDeadline = Date.now() + 10_000;
    while (isRunning(pid, marker) && Date.now() < killDeadline) await sleep(50);
    if (isRunning(pid, marker)) throw new SandboxError(`process ${pid} did not exit after SIGKILL`);
  }
  // An exiting process loses its command line before it is reaped; wait for the pid itself to go.
  const reapDeadline = Date.now() + 10_000;
  while (exists(pid) && Date.now() < reapDeadline) await sleep(50);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Poll `probe` until it returns a value other than undefined, or fail with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new SandboxError(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
