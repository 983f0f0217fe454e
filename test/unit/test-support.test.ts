import { describe, expect, it } from 'vitest';
import { metricSum, parseMetrics } from '../support/daemon-http.js';
import { derive, mulberry32 } from '../support/random.js';
import { waitFor, WaitTimeout } from '../support/wait.js';

describe('waitFor', () => {
  it('resolves to the first value that satisfies the condition', async () => {
    let n = 0;
    expect(await waitFor(() => ++n, { what: 'n to reach 3', until: (v) => v >= 3, intervalMs: 1 })).toBe(3);
  });

  it('fails naming what it waited for and the last value seen', async () => {
    const err = await waitFor(() => ({ role: 'standby' }), { what: 'role active', until: (h) => h.role === 'active', timeoutMs: 30, intervalMs: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeout);
    expect((err as Error).message).toMatch(/timed out after \d+ ms waiting for role active; last value: \{ role: 'standby' \}/);
  });

  it('passes a throwing check through unless told to retry it, and then reports the last error', async () => {
    await expect(waitFor(() => Promise.reject(new Error('boom')), { what: 'x' })).rejects.toThrow('boom');
    await expect(waitFor(() => Promise.reject(new Error('ECONNREFUSED')), { what: 'the server', ignoreErrors: true, timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(
      /waiting for the server; last error: ECONNREFUSED/,
    );
  });

  it('stops at once when aborted', async () => {
    await expect(waitFor(() => false, { what: 'y', abort: () => 'the process exited (1)' })).rejects.toThrow(/gave up waiting for y: the process exited \(1\)/);
  });
});

describe('seeded randomness', () => {
  it('repeats the same sequence for the same seed and differs between streams', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 5 }, () => a.int(1000));
    expect(Array.from({ length: 5 }, () => b.int(1000))).toEqual(xs);
    expect(Array.from({ length: 5 }, () => derive(7, 1).int(1000))).not.toEqual(Array.from({ length: 5 }, () => derive(7, 2).int(1000)));
    expect(xs.every((x) => x >= 0 && x < 1000)).toBe(true);
  });
});

describe('Prometheus text', () => {
  const text = [
    '# HELP drc_conflicts_total Conflicts detected here, by reason',
    '# TYPE drc_conflicts_total counter',
    'drc_conflicts_total{origin="a",reason="update-diverged",ezone="b"} 2',
    'drc_conflicts_total{origin="c",reason="insert-exists",ezone="b"} 3',
    'drc_capture_position_info{position="1-1-42,2-2-7",ezone="b"} 1',
    'process_resident_memory_bytes{ezone="b"} 52428800',
  ].join('\n');

  it('reads samples with their labels', () => {
    expect(parseMetrics(text).find((s) => s.name === 'drc_capture_position_info')?.labels).toEqual({ position: '1-1-42,2-2-7', ezone: 'b' });
  });

  it('sums the samples whose labels match', () => {
    expect(metricSum(text, 'drc_conflicts_total')).toBe(5);
    expect(metricSum(text, 'drc_conflicts_total', { origin: 'c' })).toBe(3);
    expect(metricSum(text, 'drc_apply_paused')).toBe(0);
  });
});
