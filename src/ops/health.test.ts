import { describe, expect, it } from 'vitest';
import type { ApplierStats, CaptureStats, StreamState } from '../model/stats.js';
import { evaluateHealth } from './health.js';
import { createMetrics, lagOf, type DaemonView } from './metrics.js';

const NOW = 1_000_000;
const capture = (over: Partial<CaptureStats> = {}) => ({
  sample: (): CaptureStats => ({
    transactions: 0,
    appliedTransactions: 0,
    rowChanges: 0,
    messages: 0,
    restarts: 0,
    wrongWrites: 0,
    committedPosition: '',
    coveredPosition: '',
    lastCommitAt: NOW - 1000,
    lastEventAt: NOW,
    queuedBytes: 0,
    ...over,
  }),
});
const applier = (over: Partial<ApplierStats> = {}) => ({
  sample: (): ApplierStats => ({
    transactions: 0,
    groups: 0,
    rowChanges: 0,
    conflicts: 0,
    deadLetters: 0,
    quarantined: 0,
    retries: 0,
    lockYields: 0,
    nextOffset: undefined,
    lastOriginCommitTime: 0,
    paused: undefined,
    conflictsByReason: {},
    lastHeartbeat: { sentAtMs: NOW - 1030, appliedAtMs: NOW - 1000 },
    lastAppliedAt: NOW - 1000,
    queuedBytes: 0,
    inflight: 0,
    ...over,
  }),
});
const pausedStream = (code: string, message: string): StreamState => ({
  status: 'paused',
  failures: 12,
  failingSince: NOW - 70_000,
  lastError: { code, message, at: NOW - 1000, context: { table: 'app.users' } },
});
const view = (a = applier(), c = capture()): DaemonView => ({ ezone: 'b', capture: c, appliers: new Map([['a', a]]) });
const limits = { maxLagMs: 10_000, stuckAfterMs: 60_000 };

describe('lag from heartbeats', () => {
  it('is the transit time while heartbeats arrive, and grows with the silence when they stop', () => {
    expect(lagOf({ sentAtMs: NOW - 40, appliedAtMs: NOW - 10 }, NOW)).toBe(30);
    expect(lagOf({ sentAtMs: NOW - 20_000, appliedAtMs: NOW - 19_990 }, NOW)).toBe(20_000 - 1500);
    expect(lagOf(undefined, NOW)).toBeUndefined();
  });
});

describe('health', () => {
  it('is ok when streams flow and lag is low', () => {
    expect(evaluateHealth(view(), limits, NOW - 100_000, NOW)).toEqual({ ok: true, problems: [] });
  });

  it('reports a paused stream, a stuck one, high lag and a missing heartbeat', () => {
    expect(evaluateHealth(view(applier({ paused: 'table x has no column y' })), limits, NOW - 100_000, NOW).problems).toEqual(['apply from a is paused: table x has no column y']);
    expect(evaluateHealth(view(applier({ queuedBytes: 10, lastAppliedAt: NOW - 90_000 })), limits, NOW - 100_000, NOW).problems[0]).toMatch(/apply from a is stuck/);
    expect(evaluateHealth(view(applier({ lastHeartbeat: { sentAtMs: NOW - 30_000, appliedAtMs: NOW - 29_000 } })), limits, NOW - 100_000, NOW).problems[0]).toMatch(/lag from a is \d+ ms \(limit 10000 ms\)/);
    expect(evaluateHealth(view(applier({ lastHeartbeat: undefined })), limits, NOW - 100_000, NOW).problems).toEqual(['no heartbeat from a since start']);
    expect(evaluateHealth(view(applier(), capture({ queuedBytes: 5, lastCommitAt: NOW - 120_000 })), limits, NOW - 200_000, NOW).problems[0]).toMatch(/capture has not shipped/);
  });

  it('names a stream its supervisor paused, with the error code', () => {
    const c = capture({ stream: pausedStream('DRC_DB_CONNECTION', 'connect ECONNREFUSED 127.0.0.1:3306') });
    expect(evaluateHealth(view(applier(), c), limits, NOW - 100_000, NOW).problems).toEqual(['capture is paused: DRC_DB_CONNECTION connect ECONNREFUSED 127.0.0.1:3306']);
    const a = applier({ stream: pausedStream('DRC_VALUE_REJECTED', "Data too long for column 'name' at row 1") });
    expect(evaluateHealth(view(a), limits, NOW - 100_000, NOW).problems).toEqual(["apply from a is paused: DRC_VALUE_REJECTED Data too long for column 'name' at row 1"]);
    const retrying: StreamState = { status: 'retrying', failures: 2, failingSince: NOW - 1000, lastError: undefined };
    expect(evaluateHealth(view(applier({ stream: retrying }), capture({ stream: retrying })), limits, NOW - 100_000, NOW).ok).toBe(true);
  });

  it('names an apply stream a fatal error stopped while the daemon runs', () => {
    const stopped: StreamState = { status: 'stopped', failures: 1, failingSince: NOW - 1000, lastError: { code: 'DRC_FENCED', message: 'fenced', at: NOW - 1000, context: {} } };
    expect(evaluateHealth(view(applier({ stream: stopped })), limits, NOW - 100_000, NOW).problems).toEqual(['apply from a stopped: DRC_FENCED fenced']);
  });

  it('names a table refused for lack of a primary key as a warning, without failing health', () => {
    const c = capture({ refusedTables: { 'app.keyless': { rows: 7, refusing: true }, 'app.fixed': { rows: 2, refusing: false } } });
    const h = evaluateHealth(view(applier(), c), limits, NOW - 100_000, NOW);
    expect(h.ok).toBe(true);
    expect(h.problems).toEqual([]);
    expect(h.warnings).toEqual([expect.stringMatching(/^table app\.keyless has no primary key: refused, 7 row change\(s\) not replicated/)]);
    const q = evaluateHealth(view(applier({ quarantined: 2 })), limits, NOW - 100_000, NOW);
    expect(q).toMatchObject({ ok: true, problems: [], warnings: ['apply from a quarantined 2 source transaction(s) since start: see drc quarantine list'] });
  });

  it('gives a fresh daemon time before missing heartbeats count', () => {
    expect(evaluateHealth(view(applier({ lastHeartbeat: undefined })), limits, NOW - 1000, NOW).ok).toBe(true);
  });
});

describe('metrics', () => {
  it('show paused streams and their failures', async () => {
    const c = capture({ stream: pausedStream('DRC_DB_CONNECTION', 'lost') });
    const a = applier({ stream: pausedStream('DRC_VALUE_REJECTED', 'rejected') });
    const text = await createMetrics(view(a, c)).metrics();
    expect(text).toMatch(/^drc_capture_paused\{ezone="b"\} 1$/m);
    expect(text).toMatch(/^drc_apply_paused\{origin="a",ezone="b"\} 1$/m);
    expect(text).toMatch(/^drc_stream_failures\{stage="capture",origin="b",ezone="b"\} 12$/m);
    expect(text).toMatch(/^drc_stream_failures\{stage="apply",origin="a",ezone="b"\} 12$/m);
    const refused = await createMetrics(view(applier({ quarantined: 3 }), capture({ refusedTables: { 'app.keyless': { rows: 7, refusing: true }, 'app.fixed': { rows: 2, refusing: false } } }))).metrics();
    expect(refused).toMatch(/^drc_capture_refused_tables\{ezone="b"\} 1$/m);
    expect(refused).toMatch(/^drc_capture_refused_rows_total\{table="app.keyless",ezone="b"\} 7$/m);
    expect(refused).toMatch(/^drc_quarantined_transactions_total\{origin="a",ezone="b"\} 3$/m);
    const calm = await createMetrics(view()).metrics();
    expect(calm).toMatch(/^drc_capture_paused\{ezone="b"\} 0$/m);
    expect(calm).toMatch(/^drc_apply_paused\{origin="a",ezone="b"\} 0$/m);
  });
});
