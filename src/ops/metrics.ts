/**
 * Prometheus metrics of a daemon (prom-client). Gathered from the stages' stats at scrape time: the
 * hot paths only bump plain counters (collect vs decide).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApplierStats, CaptureStats } from '../model/stats.js';

/** What metrics and health read from a running daemon: the stages' stats (model/stats.ts), sampled at scrape time. */
export interface DaemonView {
  ezone: string;
  /** False while standing by (another daemon is active for this ezone). */
  active?: boolean;
  capture: { sample(): CaptureStats };
  /** One applier per remote origin. */
  appliers: Map<string, { sample(): ApplierStats }>;
  /** The routing in force in this ezone's database (drc_meta.routing) and the newest switchover's state. */
  routing?: () => RoutingStatus;
  /** `drc bootstrap` runs into this ezone not yet verified (db/bootstrap-progress.ts), read at scrape time. */
  bootstraps?: () => Promise<{ schema: string; table: string; source: string; status: string; rowsCopied: number; rowsEstimate: number | null }[]>;
}

/** Routing as a daemon sees it (daemon/wiring.ts refreshes it). */
export interface RoutingStatus {
  version: number;
  /** Shards under a write ban. */
  banned: number;
  /** The newest switchover recorded here, if any. */
  switchover?: { id: string; state: string };
}

/** drc_switchover_state's values: a switchover in progress by step; 0 when none is (done or rolled back). */
export const SWITCHOVER_STATE_CODES: Record<string, number> = { started: 1, banned: 2, fenced: 3, flipped: 4 };

/** End-to-end lag of an origin seen here, from its last applied heartbeat (ms; undefined before the first). */
export function lagOf(hb: { sentAtMs: number; appliedAtMs: number } | undefined, now = Date.now()): number | undefined {
  if (!hb) return undefined;
  // While heartbeats keep arriving, lag is their transit time; when they stop, it grows with the silence.
  return Math.max(hb.appliedAtMs - hb.sentAtMs, now - hb.sentAtMs - 1500);
}

/** A counter fed from a cumulative value read at scrape time. */
function cumulative(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, total: number) => void) => void): void {
  const seen = new Map<string, number>();
  const counter: Counter<string> = new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      read((labels, total) => {
        const k = JSON.stringify(labels);
        const delta = total - (seen.get(k) ?? 0);
        if (delta > 0) counter.inc(labels, delta);
        seen.set(k, total);
      });
    },
  });
}

export function createMetrics(view: DaemonView): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ ezone: view.ezone });
  collectDefaultMetrics({ register: registry });
  const destination = view.ezone;
  const appliers = () => [...view.appliers].map(([origin, a]) => ({ origin, s: a.sample() }));

  new Gauge({
    name: 'drc_routing_version',
    help: 'Routing version applied in this ezone (drc_meta.routing; 0 before it is seeded)',
    registers: [registry],
    collect() {
      this.set(view.routing?.().version ?? 0);
    },
  });
  new Gauge({
    name: 'drc_switchover_state',
    help: 'The newest switchover seen here: 0 none in progress, 1 started, 2 banned (writes to its shards refused), 3 fenced, 4 flipped',
    registers: [registry],
    collect() {
      const state = view.routing?.().switchover?.state;
      this.set(state === undefined ? 0 : (SWITCHOVER_STATE_CODES[state] ?? 0));
    },
  });
  new Gauge({
    name: 'drc_active',
    help: '1 when this daemon is the active one for its ezone, 0 while standing by',
    registers: [registry],
    collect() {
      this.set(view.active === false ? 0 : 1);
    },
  });
  new Gauge({
    name: 'drc_lag_seconds',
    help: 'End-to-end lag origin → this ezone, from heartbeats (commit in origin → visible here)',
    labelNames: ['origin', 'destination'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { origin, s } of appliers()) {
        const lag = lagOf(s.lastHeartbeat);
        if (lag !== undefined) this.set({ origin, destination }, lag / 1000);
      }
    },
  });
  cumulative(registry, 'drc_applied_transactions_total', 'Source transactions applied here', ['origin'], (set) => appliers().forEach(({ origin, s }) => set({ origin }, s.transactions)));
  cumulative(registry, 'drc_applied_rows_total', 'Row changes applied here', ['origin'], (set) => appliers().forEach(({ origin, s }) => set({ origin }, s.rowChanges)));
  cumulative(registry, 'drc_conflicts_total', 'Conflicts detected here, by reason', ['origin', 'reason'], (set) =>
    appliers().forEach(({ origin, s }) => Object.entries(s.conflictsByReason).forEach(([reason, n]) => set({ origin, reason }, n))),
  );
  cumulative(registry, 'drc_ownership_violations_total', 'Incoming changes from an ezone that does not own the row', ['origin'], (set) =>
    appliers().forEach(({ origin, s }) => set({ origin }, s.conflictsByReason.ownership ?? 0)),
  );
  cumulative(registry, 'drc_dead_letters_total', 'Messages sent to the dead-letter topic', ['origin'], (set) => appliers().forEach(({ origin, s }) => set({ origin }, s.deadLetters)));
  cumulative(registry, 'drc_quarantined_transactions_total', 'Source transactions set aside under apply.onError: quarantine (see drc quarantine list)', ['origin'], (set) =>
    appliers().forEach(({ origin, s }) => set({ origin }, s.quarantined ?? 0)),
  );
  cumulative(registry, 'drc_apply_retries_total', 'Apply retries and recoveries', ['origin'], (set) => appliers().forEach(({ origin, s }) => set({ origin }, s.retries)));
  cumulative(registry, 'drc_apply_lock_yields_total', 'Parked apply groups rolled back to give their row locks to a waiting earlier group, then run again', ['origin'], (set) => appliers().forEach(({ origin, s }) => set({ origin }, s.lockYields)));
  new Gauge({
    name: 'drc_apply_paused',
    help: '1 while the stream from this origin is paused (schema mismatch, or failing past supervision.giveUpAfter)',
    labelNames: ['origin'],
    registers: [registry],
    collect() {
      for (const { origin, s } of appliers()) this.set({ origin }, s.paused || s.stream?.status === 'paused' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'drc_capture_paused',
    help: '1 while capture is paused (failing past supervision.giveUpAfter; it keeps retrying)',
    registers: [registry],
    collect() {
      this.set(view.capture.sample().stream?.status === 'paused' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'drc_stream_failures',
    help: 'Consecutive failures of a stream since its last progress (0 while it runs)',
    labelNames: ['stage', 'origin'],
    registers: [registry],
    collect() {
      this.set({ stage: 'capture', origin: view.ezone }, view.capture.sample().stream?.failures ?? 0);
      for (const { origin, s } of appliers()) this.set({ stage: 'apply', origin }, s.stream?.failures ?? 0);
    },
  });
  new Gauge({
    name: 'drc_queue_bytes',
    help: 'Bytes waiting between stages',
    labelNames: ['stage', 'origin'],
    registers: [registry],
    collect() {
      this.set({ stage: 'capture', origin: view.ezone }, view.capture.sample().queuedBytes);
      for (const { origin, s } of appliers()) this.set({ stage: 'apply', origin }, s.queuedBytes);
    },
  });
  cumulative(registry, 'drc_capture_transactions_total', 'Transactions read from the local binlog', [], (set) => set({}, view.capture.sample().transactions));
  cumulative(registry, 'drc_capture_rows_total', 'Row changes read from the local binlog', [], (set) => set({}, view.capture.sample().rowChanges));
  cumulative(registry, 'drc_capture_messages_total', 'Messages published by capture', [], (set) => set({}, view.capture.sample().messages));
  cumulative(registry, 'drc_capture_restarts_total', 'Capture stream restarts', [], (set) => set({}, view.capture.sample().restarts));
  cumulative(registry, 'drc_wrong_writes_total', 'Local writes to rows another ezone owns', [], (set) => set({}, view.capture.sample().wrongWrites));
  new Gauge({
    name: 'drc_capture_refused_tables',
    help: 'Replicated tables capture refuses right now because they have no primary key (their changes are skipped)',
    registers: [registry],
    collect() {
      this.set(Object.values(view.capture.sample().refusedTables ?? {}).filter((t) => t.refusing).length);
    },
  });
  cumulative(registry, 'drc_capture_refused_rows_total', 'Row changes skipped because their table has no primary key', ['table'], (set) =>
    Object.entries(view.capture.sample().refusedTables ?? {}).forEach(([table, t]) => set({ table }, t.rows)),
  );
  new Gauge({
    name: 'drc_capture_position_info',
    help: 'Binlog position durably on Kafka (as a label)',
    labelNames: ['position'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ position: view.capture.sample().committedPosition }, 1);
    },
  });
  new Gauge({
    name: 'drc_capture_last_commit_timestamp_seconds',
    help: 'When capture last committed to Kafka',
    registers: [registry],
    collect() {
      this.set(view.capture.sample().lastCommitAt / 1000);
    },
  });
  // Both read drc_meta.bootstrap at scrape time (prom-client collects the metrics of a scrape concurrently).
  const bootstraps = async () => (await view.bootstraps?.().catch(() => undefined)) ?? [];
  new Gauge({
    name: 'drc_bootstrap_rows',
    help: 'Rows a drc bootstrap into this ezone has copied (every chunk up to its resume point), until its table is verified',
    labelNames: ['table', 'from', 'status'],
    registers: [registry],
    async collect() {
      const runs = await bootstraps();
      this.reset();
      for (const r of runs) this.set({ table: `${r.schema}.${r.table}`, from: r.source, status: r.status }, r.rowsCopied);
    },
  });
  new Gauge({
    name: 'drc_bootstrap_rows_estimate',
    help: "The source table's row estimate when the drc bootstrap run started (the progress bar's total)",
    labelNames: ['table', 'from'],
    registers: [registry],
    async collect() {
      const runs = await bootstraps();
      this.reset();
      for (const r of runs) if (r.rowsEstimate !== null) this.set({ table: `${r.schema}.${r.table}`, from: r.source }, r.rowsEstimate);
    },
  });
  return registry;
}
