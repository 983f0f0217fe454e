import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import { runDrc } from '../support/cli.js';

describe('drc demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drc-demo-test-'));
  afterAll(async () => {
    await runDrc(['sandbox', 'down', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings up a two-ezone sandbox and says what is not there yet', async () => {
    const res = await runDrc(['demo', '--dir', dir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/mariadb \(ezone a\)\s+127\.0\.0\.1:\d+/);
    expect(res.stdout).toMatch(/mariadb \(ezone b\)\s+127\.0\.0\.1:\d+/);
    expect(res.stdout).toMatch(/coming soon/);
    expect(Object.keys(loadConfig(join(dir, 'drc.yaml')).ezones)).toEqual(['a', 'b']);
    const down = await runDrc(['sandbox', 'down', '--dir', dir]);
    expect(down.stdout).toMatch(/stopped 3 process\(es\)/);
  });
});
