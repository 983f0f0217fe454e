import type { StreamState } from '../model/stats.js';
import { lagOf, type DaemonView, type RoutingStatus } from './metrics.js';

export interface Health {
  ok: boolean;
  problems: string[];
  /**
   * What deserves attention without failing health: tables refused for lack of a primary key, and
   * quarantined transactions (the rest replicates; a restart or failover, which a 503 would provoke,
   * fixes neither).
   */
  warnings?: string[];
  /** A standby daemon is healthy while it waits. */
  role?: 'active' | 'standby';
  /** The routing version applied here, shards under a ban, the newest switchover (issue 17). */
  routing?: RoutingStatus;
}

/** Why a paused stream is paused, in one line: its error code and message (redacted, no row values). */
export function pausedReason(stream: StreamState | undefined): string | undefined {
  if (stream?.status !== 'paused') return undefined;
  const e = stream.lastError;
  return e ? `${e.code} ${e.message}` : 'failing';
}

/**
 * Unhealthy when a stream is paused (its supervisor gave up waiting for the failure to clear), stuck
 * (work waiting, no progress for `stuckAfterMs`), or when end-to-end lag from an origin passes
 * `maxLagMs` (or no heartbeat arrived since start-up).
 */
export function evaluateHealth(view: DaemonView, limits: { maxLagMs: number; stuckAfterMs: number }, startedAt: number, now = Date.now()): Health {
  if (view.active === false) return { ok: true, problems: [], role: 'standby' };
  const problems: string[] = [];
  const c = view.capture.sample();
  const capturePaused = pausedReason(c.stream);
  if (capturePaused) problems.push(`capture is paused: ${capturePaused}`);
  if (c.queuedBytes > 0 && now - Math.max(c.lastCommitAt, startedAt) > limits.stuckAfterMs) problems.push(`capture has not shipped for ${Math.round((now - c.lastCommitAt) / 1000)} s with work waiting`);
  for (const [origin, a] of view.appliers) {
    const s = a.sample();
    const paused = s.paused ?? pausedReason(s.stream);
    if (paused) problems.push(`apply from ${origin} is paused: ${paused}`);
    // Stopped while the daemon runs: a fatal error ended the stream (it applies nothing more).
    if (s.stream?.status === 'stopped') problems.push(`apply from ${origin} stopped: ${s.stream.lastError ? `${s.stream.lastError.code} ${s.stream.lastError.message}` : 'a fatal error'}`);
    if ((s.queuedBytes > 0 || s.inflight > 0) && now - Math.max(s.lastAppliedAt, startedAt) > limits.stuckAfterMs) {
      problems.push(`apply from ${origin} is stuck: work waiting, nothing applied for ${Math.round((now - Math.max(s.lastAppliedAt, startedAt)) / 1000)} s`);
    }
    const lag = lagOf(s.lastHeartbeat, now);
    if (lag === undefined ? now - startedAt > limits.maxLagMs : lag > limits.maxLagMs) {
      problems.push(lag === undefined ? `no heartbeat from ${origin} since start` : `lag from ${origin} is ${Math.round(lag)} ms (limit ${limits.maxLagMs} ms)`);
    }
  }
  const warnings = refusedWarnings(c.refusedTables);
  for (const [origin, a] of view.appliers) {
    const n = a.sample().quarantined ?? 0;
    if (n > 0) warnings.push(`apply from ${origin} quarantined ${n} source transaction(s) since start: see drc quarantine list`);
  }
  const routing = view.routing?.();
  return { ok: problems.length === 0, problems, ...(warnings.length > 0 ? { warnings } : {}), ...(routing ? { routing } : {}) };
}

/** One warning per table capture refuses right now (no primary key), naming it. */
export function refusedWarnings(refused: Record<string, { rows: number; refusing: boolean }> | undefined): string[] {
  return Object.entries(refused ?? {})
    .filter(([, t]) => t.refusing)
    .map(([table, t]) => `table ${table} has no primary key: refused, ${t.rows} row change(s) not replicated — add a primary key (then re-seed it), or exclude it with replicate.exclude`);
}
