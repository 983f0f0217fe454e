import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../support/cli.js';

/**
 * `npm run bench -- --quick`, as the README shows it: its own sandbox, every phase, every output; the
 * Debezium leg of the capture phase (two JVM start-ups, Maven's first fetch) is tested on its own, on
 * the capture phase alone, to keep the whole-bench run under its five minutes.
 */
/** The guard phase's row of latest.md: inserts/s without → with the triggers, and their ratio. */
const GUARD_ROW = /^\| drc guard triggers: 4 connections of single-row inserts \(inserts\/s without → with, ratio\) \| \d+ → \d+ \(\d+(\.\d+)?\) \| \| \| \| \| \| \|$/m;

describe('npm run bench -- --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'drc-bench-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('measures DRC beside native replication and writes the JSON, the table and the chart', async () => {
    const started = Date.now();
    const r = await runCommand('npm', ['run', 'bench', '--', '--quick', '--no-debezium', `--out=${out}`], { timeoutMs: 600_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(300_000); // the promise: under 5 minutes

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Record<string, Record<string, number>> & { rssMb: number };
    const positive = [
      json.drain!.drcTxPerSec,
      json.drain!.nativeParallelTxPerSec,
      json.drain!.nativeSingleTxPerSec,
      json.lag!.loadTxPerSec,
      json.lag!.p50Ms,
      json.lag!.p99Ms,
      json.lag!.p999Ms,
      json.rssMb,
      json.capture!.rowChangesPerSec,
      json.bigTransaction!.captureRssMb,
      json.bigTransaction!.applyRssMb,
      json.guard!.insertsPerSecWithout,
      json.guard!.insertsPerSecWith,
      json.guard!.ratio,
    ];
    for (const x of positive) expect(x).toBeGreaterThan(0);
    expect(json.lag!.p50Ms).toBeLessThanOrEqual(json.lag!.p99Ms!);
    expect(json.lag!.p99Ms).toBeLessThanOrEqual(json.lag!.p999Ms!);
    expect(json.mixed!.convergedMsAfterLoad).toBeGreaterThanOrEqual(0); // both ezones ended identical
    expect(json.mixed!.conflicts).toBeGreaterThan(0);

    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toMatch(/^\| drain of 20000 single-row tx \(tx\/s\) \| \d+ \| \d+ \| \d+ \| \d+\.\d\d× \| \| \| ≥ 1× \|$/m);
    expect(md).toMatch(GUARD_ROW);
    const svg = readFileSync(join(out, 'lag.svg'), 'utf8');
    expect(svg).toMatch(/^<svg /);
    expect(/points="([^"]*)"/.exec(svg)?.[1]?.split(' ').length).toBeGreaterThan(100);
  }, 660_000);

  it('runs Debezium 3.6.1.Final beside DRC on the same capture backlog (--only=capture) and reports both and their ratio', async () => {
    const dir = join(out, 'debezium');
    const r = await runCommand('npm', ['run', 'bench', '--', '--quick', '--only=capture', `--out=${dir}`], { timeoutMs: 900_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as { capture: { rowChangesPerSec: number; decodeOnlyRowChangesPerSec: number; debeziumRowsPerSec: number } };
    expect(json.capture.rowChangesPerSec).toBeGreaterThan(0);
    expect(json.capture.decodeOnlyRowChangesPerSec).toBeGreaterThan(0);
    expect(json.capture.debeziumRowsPerSec).toBeGreaterThan(0);
    const md = readFileSync(join(dir, 'latest.md'), 'utf8');
    expect(md).toMatch(/^\| capture of a backlog of 1,000-row tx \(row changes\/s\): decode alone \/ decode and ship to Kafka \| \d+ \/ \d+ \| \| \| \| \d+ \| \d+\.\d\d× \|/m);
  }, 960_000);
});
