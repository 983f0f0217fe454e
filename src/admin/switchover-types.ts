/** The shapes `drc switchover` (admin/switchover.ts) takes and returns, shared by its step modules. */
import type mysql from 'mysql2/promise';
import type { Logger } from '../ops/logger.js';
import type { SwitchoverState } from './switchover-plan.js';

/** A routing change as published on `<prefix>.routing`. */
export interface RoutingEvent {
  switchover: string;
  step: SwitchoverState;
  version: number;
  shards: string;
  owner: string;
  state: 'owned' | 'banned';
  movingTo?: string;
  /** The ezone whose database it was written in. */
  writtenIn: string;
  at: string;
}

export interface SwitchoverOptions {
  shards?: { from: number; to: number };
  to?: string;
  timeoutMs: number;
  resume: boolean;
  /**
   * Emergency: the old owner is unreachable. Flip the shards to `to` at once, written in `to`'s
   * database, with no ban and no fence (admin/switchover-forced.ts).
   */
  force?: boolean;
  log: Logger;
  /** Publishes a routing change (on `<prefix>.routing`); failures are logged, never fatal. */
  publish?: (event: RoutingEvent) => Promise<void>;
  /** How often waits poll the databases. */
  pollMs?: number;
  /** Refuse to start when an ezone's heartbeat from another is older than this (config health.maxLag by default). */
  maxLagMs?: number;
  /** Awaited when a step is reached (tests kill the process there). */
  onStep?: (state: SwitchoverState) => Promise<void> | void;
}

export interface SwitchoverResult {
  id?: string;
  state: SwitchoverState | 'none';
  shards?: string;
  from?: string;
  to?: string;
  banVersion?: number | null;
  flipVersion?: number | null;
  /** Why it rolled back, or why nothing was done. */
  reason?: string;
  /** Milliseconds per step of this run. */
  steps: { step: string; ms: number }[];
  /** From the ban's commit to the flip's commit (writes to the shards refused everywhere meanwhile), when this run did both. */
  banToFlipMs?: number;
}

/** One open connection per reachable ezone, by name. */
export type Conns = Map<string, mysql.Connection>;
