/**
 * The compact change-notification record published on `<prefix>.<ezone>.notify` for every row change
 * committed in that ezone, local or replicated: enough to invalidate a cache, no row images.
 */
import type { Operation, RowChange } from './change.js';
import { canonicalKey } from './types/canonical-key.js';
import type { Row } from './value.js';

export interface Notification {
  v: 1;
  schema: string;
  table: string;
  key: Row;
  op: Operation;
  /** Ezone where the change was first committed. */
  origin: string;
  version: string | null;
  /** Transaction id in this ezone's binlog. */
  tx: string;
  /** Commit time in this ezone, ms since the epoch. */
  ts: number;
}

export function notificationOf(change: RowChange, origin: string, tx: string, ts: number): Notification {
  return { v: 1, schema: change.schema, table: change.table, key: change.key, op: change.op, origin, version: change.version ?? null, tx, ts };
}

/** Kafka message key of a notification: table + key, so one row's notifications stay in order. */
export const notificationKey = (n: { schema: string; table: string; key: Row }) => `${n.schema}.${n.table}:${canonicalKey(n.key)}`;
