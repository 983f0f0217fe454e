import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';

describe('drc demo (the real binary, its own sandbox)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drc-demo-test-'));
  afterAll(async () => {
    await runDrc(['sandbox', 'down', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs for 30 s, replicating both ways with live lag and conflicts, and exits cleanly on SIGINT', async () => {
    const demo = new DaemonProcess(['demo', '--dir', dir]);
    await demo.waitForLog('daemons running', 120_000);
    await new Promise((r) => setTimeout(r, 30_000));
    expect(demo.log).toMatch(/origin\s+destination\s+lagMs/); // the live view
    demo.signal('SIGINT');
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    const a2b = Number(/replicated a → b: (\d+) accounts/.exec(demo.log)?.[1]);
    const b2a = Number(/replicated b → a: (\d+) accounts/.exec(demo.log)?.[1]);
    expect(a2b).toBeGreaterThan(50);
    expect(b2a).toBeGreaterThan(50);
    expect(demo.log).toMatch(/accounts identical in every ezone: yes/);
    expect(demo.log).toMatch(/daemons exited with 0, 0/);
    expect(Number(/conflicts resolved: (\d+)/.exec(demo.log)?.[1])).toBeGreaterThan(0);
  }, 240_000);
});
