/**
 * Decisions → SQL. Pure. Statements work on MariaDB and MySQL 8; where the dialects differ (upsert
 * syntax) the flavour picks the form. Values always travel as parameters, never inlined.
 */
import { quoteId, tableRef, upsert, type Flavor, type Statement } from '../db/sql.js';
import { fromWire, type Row } from '../model/value.js';

export type { Flavor, Statement };

/**
 * `SELECT *` of the rows with these primary keys, locked for update: one point lookup per key
 * (`(… WHERE pk = ? FOR UPDATE) UNION ALL …`). A multi-value IN is a range scan that also waits on
 * the record after a missing key — a lock another in-flight group may hold while it waits for this
 * one to commit, which would be a cycle InnoDB cannot see.
 */
export function selectByKeys(schema: string, table: string, pk: string[], keys: Row[]): Statement {
  const params: unknown[] = [];
  const where = pk.map((c) => `${quoteId(c)} = ?`).join(' AND ');
  const one = `(SELECT * FROM ${tableRef(schema, table)} WHERE ${where} FOR UPDATE)`;
  for (const k of keys) for (const c of pk) params.push(fromWire(k[c] ?? null));
  return { sql: keys.map(() => one).join(' UNION ALL '), params };
}

/** Rows holding any of the given unique-key values (for unique collisions), locked for update. */
export function selectByUniqueKeys(schema: string, table: string, keys: { columns: string[]; values: Row }[]): Statement {
  const params: unknown[] = [];
  const ors = keys.map(({ columns, values }) => {
    for (const c of columns) params.push(fromWire(values[c] ?? null));
    return `(${columns.map((c) => `${quoteId(c)} = ?`).join(' AND ')})`;
  });
  return { sql: `SELECT * FROM ${tableRef(schema, table)} WHERE ${ors.join(' OR ')} FOR UPDATE`, params };
}

/** A multi-row INSERT; every row must have the same columns. */
export function insertRows(schema: string, table: string, rows: Row[]): Statement {
  const cols = Object.keys(rows[0] ?? {});
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  const params: unknown[] = [];
  for (const r of rows) for (const c of cols) params.push(fromWire(r[c] ?? null));
  return { sql: `INSERT INTO ${tableRef(schema, table)} (${cols.map(quoteId).join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`, params };
}

/** UPDATE of one row to the given image (all of its columns), found by primary key. */
export function updateRow(schema: string, table: string, pk: string[], key: Row, image: Row): Statement {
  const cols = Object.keys(image);
  const params: unknown[] = cols.map((c) => fromWire(image[c] ?? null));
  for (const c of pk) params.push(fromWire(key[c] ?? null));
  return {
    sql: `UPDATE ${tableRef(schema, table)} SET ${cols.map((c) => `${quoteId(c)} = ?`).join(', ')} WHERE ${pk.map((c) => `${quoteId(c)} = ?`).join(' AND ')}`,
    params,
  };
}

export function deleteRow(schema: string, table: string, pk: string[], key: Row): Statement {
  return {
    sql: `DELETE FROM ${tableRef(schema, table)} WHERE ${pk.map((c) => `${quoteId(c)} = ?`).join(' AND ')}`,
    params: pk.map((c) => fromWire(key[c] ?? null)),
  };
}


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
export function position(flavor: Flavor, origin: string, partition: number, nextOffset: string, originTx: string, originPos: string): Statement {
  return {
    sql: upsert(
      flavor,
      'drc_meta.apply_position',
      { origin: '?', kafka_partition: '?', next_offset: '?', origin_tx: '?', origin_pos: '?', updated_at: 'UTC_TIMESTAMP(6)' },
      ['next_offset', 'origin_tx', 'origin_pos', 'updated_at'],
    ),
    params: [origin, partition, nextOffset, originTx, originPos],
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
  incoming: Row | null;
  local: Row | null;
  originTx: string;
  /** Detection time, ms since the epoch. */
  at: number;
}

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
