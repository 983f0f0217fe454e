/**
 * The applier's statements on drc_meta: the marker, the applied position, when a heartbeat was seen,
 * conflict records. Pure. Where the dialects differ (upsert syntax) the flavour picks the form.
 */
import { upsert, type Flavor, type Statement } from '../../db/sql.js';
import type { Row, WireValue } from '../../model/value.js';

export type { Flavor, Statement };

/**
 * The marker: the first statement of every target transaction. `n` always changes, so the row is
 * always binlogged, and capture always sees it.
 */
export function marker(flavor: Flavor, slot: number, origin: string, originTx: string, originPos: string): Statement {
  return {
    sql: upsert(
      flavor,
      'drc_meta.tx_origin',
      { slot: '?', origin: '?', origin_tx: '?', origin_pos: '?', n: '1', applied_at: 'UTC_TIMESTAMP(6)' },
      ['origin', 'origin_tx', 'origin_pos', 'applied_at'],
      ['n = n + 1'],
    ),
    params: [slot, origin, originTx, originPos],
  };
}

/** The applied position, written in the same transaction as the rows. */
export function position(flavor: Flavor, origin: string, partition: number, nextOffset: string, originTx: string, originPos: string, topic: string | null = null): Statement {
  return {
    sql: upsert(
      flavor,
      'drc_meta.apply_position',
      { origin: '?', kafka_partition: '?', next_offset: '?', origin_tx: '?', origin_pos: '?', topic: '?', updated_at: 'UTC_TIMESTAMP(6)' },
      ['next_offset', 'origin_tx', 'origin_pos', 'topic', 'updated_at'],
    ),
    params: [origin, partition, nextOffset, originTx, originPos, topic],
  };
}

/**
 * When a heartbeat of `origin` (sent at `sentAt` on its clock) became visible here: written in the
 * same transaction as the heartbeat row, read by `drc lag`. Not replicated.
 */
export function heartbeatSeen(flavor: Flavor, origin: string, sentAt: string): Statement {
  return {
    sql: upsert(flavor, 'drc_meta.lag', { origin: '?', sent_at: '?', applied_at: 'UTC_TIMESTAMP(6)' }, ['sent_at', 'applied_at']),
    params: [origin, sentAt],
  };
}

/** One conflict record for drc_meta.conflicts. */
/** What a conflict record keeps of a value too large to record whole (apply/conflict-log.ts): its size and SHA-256. */
export interface OmittedValue {
  $omitted: { bytes: number; sha256: string };
}

/** A row image as a conflict record keeps it: every value, or OmittedValue for a value too large. */
export type RecordedImage = Record<string, WireValue | OmittedValue>;

export interface ConflictRecord {
  ezone: string;
  origin: string;
  schema: string;
  table: string;
  key: Row;
  reason: string;
  decision: string;
  incomingVersion: string | null;
  localVersion: string | null;
  incoming: RecordedImage | null;
  local: RecordedImage | null;
  originTx: string;
  /** Detection time, ms since the epoch. */
  at: number;
}

/** One multi-row INSERT of conflict records into drc_meta.conflicts. */
export function insertConflicts(records: ConflictRecord[]): Statement {
  const params: unknown[] = [];
  for (const r of records) {
    params.push(
      new Date(r.at).toISOString().replace('T', ' ').replace('Z', ''),
      r.ezone,
      r.origin,
      r.schema,
      r.table,
      JSON.stringify(r.key),
      r.reason,
      r.decision,
      r.incomingVersion,
      r.localVersion,
      r.incoming === null ? null : JSON.stringify(r.incoming),
      r.local === null ? null : JSON.stringify(r.local),
      r.originTx,
    );
  }
  return {
    sql:
      'INSERT INTO drc_meta.conflicts (detected_at, ezone, origin, schema_name, table_name, key_json, reason, decision, incoming_version, local_version, incoming_image, local_image, origin_tx) VALUES ' +
      records.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', '),
    params,
  };
}
