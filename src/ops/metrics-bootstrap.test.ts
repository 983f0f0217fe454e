import { describe, expect, it } from 'vitest';
import { newCaptureStats, type ApplierStats } from '../model/stats.js';
import { createMetrics, type DaemonView } from './metrics.js';

describe('drc_bootstrap_rows', () => {
  const view = (runs: Awaited<ReturnType<NonNullable<DaemonView['bootstraps']>>> | Error): DaemonView => ({
    ezone: 'c',
    capture: { sample: () => newCaptureStats() },
    appliers: new Map<string, { sample(): ApplierStats }>(),
    bootstraps: () => (runs instanceof Error ? Promise.reject(runs) : Promise.resolve(runs)),
  });

  it('shows each bootstrap into this ezone not yet verified, with its rows and the estimate', async () => {
    const text = await createMetrics(view([{ schema: 'app', table: 't', source: 'a', status: 'copying', rowsCopied: 1200, rowsEstimate: 5000 }])).metrics();
    expect(text).toMatch(/drc_bootstrap_rows\{table="app\.t",from="a",status="copying",ezone="c"\} 1200/);
    expect(text).toMatch(/drc_bootstrap_rows_estimate\{table="app\.t",from="a",ezone="c"\} 5000/);
  });

  it('shows nothing, and still answers, when there is none or drc_meta cannot be read', async () => {
    for (const runs of [[], new Error('connection lost')]) {
      const text = await createMetrics(view(runs)).metrics();
      expect(text).not.toMatch(/drc_bootstrap_rows\{/);
      expect(text).toMatch(/drc_active/);
    }
  });
});
