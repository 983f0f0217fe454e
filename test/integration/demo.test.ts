import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { runDrc } from '../support/cli.js';
import { DAEMON_LOG_DIR, DaemonProcess } from '../support/daemon-process.js';
import { sleep } from '../support/wait.js';

describe('drc demo (the real binary, its own sandbox)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drc-demo-test-'));
  // When a run fails, keep the demo's daemon logs (the folder goes away) and show how they end.
  beforeEach(({ onTestFailed }) =>
    onTestFailed(() => {
      const logs = join(dir, 'logs');
      if (!existsSync(logs)) return;
      const kept = join(DAEMON_LOG_DIR, `demo-${Date.now()}`);
      cpSync(logs, kept, { recursive: true });
      for (const f of readdirSync(kept)) process.stderr.write(`\n--- ${join(kept, f)} ends with ---\n${readFileSync(join(kept, f), 'utf8').trimEnd().split('\n').slice(-10).join('\n')}\n`);
    }),
  );
  afterAll(async () => {
    await runDrc(['sandbox', 'down', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** `drc verify` on the demo's sandbox: every ezone holds the same accounts. */
  async function expectVerified(): Promise<void> {
    const res = await runDrc(['verify', '--config', join(dir, 'drc.yaml'), '--json']);
    expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
    expect((JSON.parse(res.stdout) as { differences: unknown[] }).differences).toEqual([]);
  }

  const accounts = (log: string) => ({
    a2b: Number(/replicated a → b: (\d+) accounts/.exec(log)?.[1]),
    b2a: Number(/replicated b → a: (\d+) accounts/.exec(log)?.[1]),
  });
  let first = { a2b: 0, b2a: 0 };

  it('runs for 30 s, replicating both ways with live lag and conflicts, and exits cleanly on SIGINT', async () => {
    const demo = new DaemonProcess(['demo', '--dir', dir]);
    await demo.waitForLog('daemons running', 120_000); // the demo's own screen
    await sleep(30_000); // the demo's run time: it writes and shows its live view meanwhile
    expect(demo.log).toMatch(/origin\s+destination\s+lagMs/); // the live view
    expect(demo.log).toMatch(/\d+ conflicts detected by the daemons; both ezones wrote the same account at once \d+ times/);
    demo.signal('SIGINT');
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    first = accounts(demo.log);
    expect(first.a2b).toBeGreaterThan(50);
    expect(first.b2a).toBeGreaterThan(50);
    expect(demo.log).toMatch(/accounts identical in every ezone: yes/);
    expect(demo.log).toMatch(/daemons exited with 0, 0/);
    expect(Number(/conflicts resolved: (\d+)/.exec(demo.log)?.[1])).toBeGreaterThan(0);
    await expectVerified();
  }, 240_000);

  it('runs a second time in the same directory and ends with identical ezones again', async () => {
    // The sandbox, the tables, the topics and the daemons' log files are still there from the first run.
    const demo = new DaemonProcess(['demo', '--dir', dir, '--duration', '15']);
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    expect(demo.log).toMatch(/accounts identical in every ezone: yes/);
    expect(demo.log).toMatch(/daemons exited with 0, 0/);
    const second = accounts(demo.log);
    expect(second.a2b).toBeGreaterThan(first.a2b);
    expect(second.b2a).toBeGreaterThan(first.b2a);
    await expectVerified();
  }, 240_000);
});
