/**
 * The stages' statistics, declared once: the stages fill them, metrics, health and the tools read them.
 * Plain counters and gauges bumped on the hot paths; everything derived is computed at scrape time.
 */

export interface CaptureStats {
  transactions: number;
  appliedTransactions: number;
  rowChanges: number;
  messages: number;
  restarts: number;
  /** Local writes to rows another ezone owns (traffic routed to the wrong ezone). */
  wrongWrites: number;
  /** Last position durably on Kafka. */
  committedPosition: string;
  /** Last position whose local tombstones are recorded. */
  coveredPosition: string;
  lastCommitAt: number;
  /** When the binlog stream last delivered an event or a server heartbeat. */
  lastEventAt: number;
  /** Bytes waiting to be shipped. */
  queuedBytes: number;
  /** The capture stream's supervision state (absent while no capture runs, e.g. on a standby). */
  stream?: StreamState;
  /**
   * Replicated tables refused because they have no primary key, by `schema.table`: row changes
   * skipped since start, and whether the table is still refused (false once it got a primary key).
   */
  refusedTables?: Record<string, RefusedTable>;
}

/** A table capture refuses (no primary key): counted, reported, never fatal. */
export interface RefusedTable {
  /** Row changes skipped (not replicated) since the daemon started. */
  rows: number;
  /** Still without a primary key (as far as the binlog last said). */
  refusing: boolean;
}

/** Capture's statistics before anything happened (a fresh capture, and what a standby reports). */
export function newCaptureStats(): CaptureStats {
  return {
    transactions: 0,
    appliedTransactions: 0,
    rowChanges: 0,
    messages: 0,
    restarts: 0,
    wrongWrites: 0,
    committedPosition: '',
    coveredPosition: '',
    lastCommitAt: 0,
    lastEventAt: 0,
    queuedBytes: 0,
  };
}

export interface ApplierStats {
  transactions: number;
  groups: number;
  rowChanges: number;
  conflicts: number;
  deadLetters: number;
  /** Source transactions set aside under apply.onError: quarantine (drc_meta.quarantine). */
  quarantined: number;
  retries: number;
  /** Parked groups rolled back to give their locks to a waiting oldest group, then run again (apply/lock-yield.ts). */
  lockYields: number;
  /** Next Kafka offset to apply (everything before it is committed here). */
  nextOffset: string | undefined;
  /** Commit time (origin clock, ms) of the last applied source transaction. */
  lastOriginCommitTime: number;
  lastAppliedAt: number;
  /** Why the stream is paused (schema mismatch), if it is. */
  paused: string | undefined;
  conflictsByReason: Record<string, number>;
  /** The last heartbeat of the origin applied here: its send time (origin clock) and when it was applied. */
  lastHeartbeat: { sentAtMs: number; appliedAtMs: number } | undefined;
  /** Bytes of messages waiting to be applied. */
  queuedBytes: number;
  /** Groups executing or waiting for their commit turn. */
  inflight: number;
  /** The stream's supervision state, when the applier has a supervisor (optional: health reads `paused` first). */
  stream?: StreamState;
}

/** What /healthz, metrics and `drc` tools read about one stream. */
export interface StreamState {
  status: 'running' | 'retrying' | 'paused' | 'stopped';
  /** Consecutive failures since the last progress. */
  failures: number;
  /** When the current run of failures began (ms; undefined while running). */
  failingSince: number | undefined;
  /** The last failure, redacted (no row values). */
  lastError: { code: string; message: string; at: number; context: Record<string, string | number | undefined> } | undefined;
}
