/**
 * Turns a stream of decoded binlog events into origin-tagged transactions, in parts: a part is handed
 * on as soon as its chunk message is full (bounded memory for huge transactions) and the final part at
 * commit. A transaction whose first row is DRC's marker was applied by DRC: it is not shipped to
 * `changes` (that breaks loops) but its notifications carry the marker's true origin.
 */
import { BinlogSequenceError, MarkerNotFirstError } from '../errors.js';
import type { Operation, RowChange } from '../model/change.js';
import { ChunkEncoder, valueBudget } from '../model/envelope.js';
import { notificationOf, type Notification } from '../model/notify.js';
import type { LocalReleases, ReleasedImage } from '../model/ports.js';
import type { ColumnTypes } from '../model/types/row.js';
import type { Row } from '../model/value.js';
import { versionFromMillis } from '../model/version.js';
import type { TableFilter } from '../config/table-filter.js';
import type { CaptureReceipt } from '../db/capture-receipts.js';
import { DeleteClock, type TransactionDeletes } from './delete-clock.js';
import { toChanges, type BinlogRow, type TableInfo } from './row-changes.js';
import { parseTruncate } from './truncate-statement.js';

/** What one notification is taken to hold in memory (bytes), for a part's size and an applied transaction's parts. */
const NOTIFICATION_BYTES = 200;

/** Binlog events as the assembler needs them (the binlog source adapts zongji's events to these). */
export type SourceEvent =
  /**
   * A transaction starts (MariaDB GTID event of a transactional group, MySQL GTID event, or the BEGIN
   * of a MySQL transaction without GTID). `id`: its GTID, else its binlog file and position (unique
   * and the same when read again: receipt times are kept by it, db/capture-receipts.ts).
   */
  | { type: 'begin'; id: string; timestamp: number }
  /**
   * A statement outside any transaction: DDL (`receivedAt`: see the rows event; `id`: the GTID of its
   * group, or without one its binlog file and position, binlog-source.ts). A TRUNCATE TABLE of a replicated table becomes a transaction of its own (truncate-statement.ts).
   */
  | { type: 'ddl'; schema: string; statement: string; timestamp?: number; receivedAt?: number; id?: string }
  /** Table metadata of the row events that follow. */
  | { type: 'table'; tableId: number; schema: string; table: string; primaryKey: string[] | undefined; temporal?: string[]; columnTypes?: ColumnTypes }
  /**
   * Row images already in wire form (the binlog source decodes values through model/types/).
   * `timestamp` is the binlog's (whole seconds); `receivedAt` capture's clock when the event arrived
   * (ms), which makes a delete's version precise (deleteTime).
   */
  | { type: 'rows'; op: Operation; tableId: number; rows: BinlogRow[]; timestamp: number; receivedAt?: number; /** The origin ran with foreign_key_checks = 0. */ noFkChecks?: boolean }
  /** The transaction committed; `position` is the binlog position right after it. */
  | { type: 'commit'; position: string; timestamp: number };

/** A local delete whose tombstone capture records (DESIGN.md section 5 rule 4). */
export interface LocalDelete {
  schema: string;
  table: string;
  key: Row;
  version: string;
  /** A primary-key change's old key: the new one (db/tombstones.ts). */
  movedTo?: Row;
}

/** A local TRUNCATE TABLE, whose table-wide tombstone capture records (apply/truncate.ts). */
export interface LocalTruncate {
  schema: string;
  table: string;
  versionColumn: string;
  version: string;
}

/** A piece of one transaction, handed to the shipper in order. */
export interface CapturedPart {
  txId: string;
  /** True origin: this ezone, or the marker's origin for a DRC-applied transaction. */
  origin: string;
  /** Applied by DRC (carried a marker): notify only. */
  applied: boolean;
  /** Messages for `<prefix>.<ezone>.changes`. */
  chunks: Buffer[];
  notifications: Notification[];
  tombstones: LocalDelete[];
  /** Local truncates (a truncate travels alone in its transaction). */
  truncates?: LocalTruncate[];
  /** Before-images of local updates and deletes of tables that may have unique keys (LocalReleases). */
  releases?: ReleasedImage[];
  /**
   * When capture first received this transaction, to record (db/capture-receipts.ts) before its
   * tombstones: on the part that first needed it (a delete or truncate), unless an earlier capture had.
   */
  receipt?: CaptureReceipt;
  /**
   * Set on the final part of the transaction; `routing`: the routing in force after it, in binlog
   * order (model/routing.ts packRoutes), when capture keeps one.
   */
  end?: { position: string; commitTime: number; routing?: string };
  /** Memory held by this part: the exact bytes of its messages, notifications estimated. */
  bytes: number;
  rows: number;
}

interface OpenTx {
  id: string;
  startTime: number;
  origin: string;
  applied: boolean;
  encoder: ChunkEncoder;
  chunks: Buffer[];
  notifications: Notification[];
  tombstones: LocalDelete[];
  truncates: LocalTruncate[];
  releases: ReleasedImage[];
  /** When its deletes happened (delete-clock.ts). */
  deletes: TransactionDeletes;
  bytes: number;
  rows: number;
  /** Any replicated change so far (transactions with none are not shipped). */
  changed: boolean;
}

export interface AssemblerOptions {
  ezone: string;
  filter: TableFilter;
  /** Upper bound of every message shipped (value, key — the ezone — and framing), in bytes. */
  maxMessageBytes: number;
  /** Called for every part, in order. Must not throw. */
  emit: (part: CapturedPart) => void;
  /** Called for DDL (schema, first words of the statement; never literals). */
  onDdl?: (schema: string, kind: string) => void;
  /** Called for a TRUNCATE TABLE of a replicated table (it ships as a truncate change). */
  onTruncate?: (table: string) => void;
  /** Ownership rules: a local write to a row this ezone does not own is reported (routing is broken). */
  ownership?: { violates(table: string, row: Row, writer: string): { owner: string } | undefined; routedVersion?(table: string, row: Row): number | undefined };
  onWrongWrite?: (table: string, owner: string) => void;
  /** Called for every row written to drc_meta.routing (local or applied), in binlog order: the routing in force from here on. */
  onRoutingRow?: (after: Row) => void;
  /** The routing in force now, as text (packRoutes), for the end of each transaction (CapturedPart.end.routing). */
  routingText?: () => string | undefined;
  /**
   * Tables refused for lack of a primary key (capture/refused-tables.ts): their rows are skipped and
   * counted, never fatal. Without it such a table is still skipped, silently.
   */
  /** Which tables' released images to collect (LocalReleases.wants); none without it. */
  releases?: Pick<LocalReleases, 'wants'>;
  /**
   * Receipt times earlier captures recorded (db/capture-receipts.ts), by transaction id: a
   * transaction read again keeps its first one, so its deletes keep their versions.
   */
  receipts?: ReadonlyMap<string, number>;
  refused?: { readonly any: boolean; refuse(table: string, rows: number): void; keyed(table: string): void; isRefused(table: string): boolean };
}

export class TransactionAssembler {
  private readonly tables = new Map<number, TableInfo>();
  private tx: OpenTx | undefined;
  /** Position of the last committed transaction: where the next one starts. */
  private lastPosition: string;
  /** When local deletes happened (their versions' precise part). */
  private readonly clock: DeleteClock;

  constructor(
    private readonly options: AssemblerOptions,
    startPosition: string,
  ) {
    this.lastPosition = startPosition;
    this.clock = new DeleteClock(options.receipts);
  }

  /** Drop a transaction in progress (the source reconnects and will replay it). */
  reset(position: string): void {
    this.tx = undefined;
    this.tables.clear();
    this.lastPosition = position;
  }

  push(ev: SourceEvent): void {
    switch (ev.type) {
      case 'begin':
        this.tx = this.open(ev.id, ev.timestamp);
        return;
      case 'table':
        this.tables.set(ev.tableId, { schema: ev.schema, table: ev.table, primaryKey: ev.primaryKey, temporal: ev.temporal, columnTypes: ev.columnTypes });
        if (this.options.refused?.any && ev.primaryKey && ev.primaryKey.length > 0) {
          const name = `${ev.schema}.${ev.table}`;
          if (this.options.refused.isRefused(name)) this.options.refused.keyed(name);
        }
        return;
      case 'rows':
        this.rows(ev);
        return;
      case 'commit':
        this.commit(ev.position, ev.timestamp);
        return;
      case 'ddl':
        this.ddl(ev);
        return;
    }
  }

  private ddl(ev: Extract<SourceEvent, { type: 'ddl' }>): void {
    const kind = ev.statement.trim().split(/\s+/).slice(0, 2).join(' ').toUpperCase();
    const t = parseTruncate(ev.statement, ev.schema);
    // Never guessed: an unreadable TRUNCATE stops capture (retried, then paused loudly) rather than
    // leave the peers with rows the origin no longer has.
    if (t.kind === 'unreadable') throw new BinlogSequenceError(`a TRUNCATE statement DRC cannot read (one table, optionally qualified by its schema): ${kind}`, { schema: ev.schema });
    if (t.kind === 'truncate' && this.truncate(t.schema, t.table, ev)) return;
    this.options.onDdl?.(ev.schema, kind);
  }

  /**
   * TRUNCATE TABLE of a replicated table: a transaction of one truncate change, its version the time
   * of the truncate (deleteTime). Returns false for a table that is not replicated.
   */
  private truncate(schema: string, table: string, ev: Extract<SourceEvent, { type: 'ddl' }>): boolean {
    const role = this.options.filter.roleOf(schema, table);
    if (role.kind !== 'replicated' || this.options.refused?.isRefused(`${schema}.${table}`)) return false;
    const timestamp = ev.timestamp ?? Date.now();
    const tx = this.tx ?? (this.tx = this.open(ev.id ?? `${this.lastPosition}+`, timestamp));
    const at = tx.deletes.at(timestamp, ev.receivedAt, !tx.applied);
    const version = role.versionColumn === null ? undefined : versionFromMillis(at);
    this.add(tx, { schema, table, op: 'truncate', key: {}, ...(version !== undefined ? { version } : {}) });
    if (version !== undefined && role.versionColumn !== null) tx.truncates.push({ schema, table, versionColumn: role.versionColumn, version });
    this.options.onTruncate?.(`${schema}.${table}`);
    return true;
  }

  private open(id: string, timestamp: number): OpenTx {
    return {
      id,
      startTime: timestamp,
      origin: this.options.ezone,
      applied: false,
      // Messages travel keyed by the ezone (shipper.ts): the key and the framing count against the limit.
      encoder: new ChunkEncoder({ origin: this.options.ezone, id, position: this.lastPosition, commitTime: timestamp }, valueBudget(this.options.maxMessageBytes, this.options.ezone)),
      chunks: [],
      notifications: [],
      tombstones: [],
      truncates: [],
      releases: [],
      deletes: this.clock.transaction(id),
      bytes: 0,
      rows: 0,
      changed: false,
    };
  }

  private rows(ev: Extract<SourceEvent, { type: 'rows' }>): void {
    const info = this.tables.get(ev.tableId);
    if (!info) throw new BinlogSequenceError(`row event for unknown table id ${ev.tableId}`, { tableId: ev.tableId });
    const role = this.options.filter.roleOf(info.schema, info.table);
    if (role.kind === 'ignored') return;
    if (role.kind === 'replicated' && (!info.primaryKey || info.primaryKey.length === 0)) {
      // Refused by name (DESIGN.md section 5), never fatal: the rest of the transaction still ships.
      this.options.refused?.refuse(`${info.schema}.${info.table}`, ev.rows.length);
      return;
    }
    // Without a GTID event (MySQL with gtid_mode=OFF) the first row opens the transaction.
    const tx = this.tx ?? (this.tx = this.open(`${this.lastPosition}+`, ev.timestamp));
    if (role.kind === 'marker') {
      this.markApplied(tx, ev);
      return;
    }
    const at = ev.op === 'delete' ? tx.deletes.at(ev.timestamp, ev.receivedAt, !tx.applied) : ev.timestamp;
    const temporal = role.versionColumn !== null && ev.op !== 'delete' && !tx.applied && (info.temporal?.includes(role.versionColumn) ?? false);
    for (const raw of ev.rows) {
      for (const change of toChanges(ev.op, raw, info, role.versionColumn, at)) {
        if (temporal && change.version) this.clock.noteWrite(change.version);
        this.add(tx, ev.noFkChecks ? { ...change, noFkChecks: true } : change);
      }
    }
  }

  private markApplied(tx: OpenTx, ev: Extract<SourceEvent, { type: 'rows' }>): void {
    if (tx.changed) {
      throw new MarkerNotFirstError(tx.id);
    }
    // Insert (first use of the slot) or update (ON DUPLICATE KEY UPDATE): the row's after-image.
    const raw = ev.rows[ev.rows.length - 1] as Record<string, unknown>;
    const image = ev.op === 'update' ? (raw.after as Record<string, unknown>) : raw;
    tx.applied = true;
    tx.origin = String(image.origin ?? tx.origin);
  }

  private add(tx: OpenTx, change: RowChange): void {
    if (change.schema === 'drc_meta' && change.table === 'routing' && change.after) this.options.onRoutingRow?.(change.after);
    // The verdict, in binlog order, travels with the change: peers decide from it (RowChange.rv).
    let shipped = change;
    if (!tx.applied && this.options.ownership && change.op !== 'truncate') {
      const table = `${change.schema}.${change.table}`;
      const row = change.after ?? (change.before as Row);
      const wrong = this.options.ownership.violates(table, row, this.options.ezone);
      if (wrong) this.options.onWrongWrite?.(table, wrong.owner);
      const rv = this.options.ownership.routedVersion?.(table, row);
      if (rv !== undefined) shipped = { ...change, rv, ...(wrong ? { wrong: wrong.owner } : {}) };
    }
    tx.changed = true;
    tx.rows++;
    // A primary-key change leaves the old key as a delete would: caches holding it hear so.
    if (change.oldKey) tx.notifications.push(notificationOf({ ...change, op: 'delete', key: change.oldKey }, tx.origin, tx.id, tx.startTime));
    tx.notifications.push(notificationOf(change, tx.origin, tx.id, tx.startTime));
    // A primary-key change removes its old key as a delete does: the old key gets a tombstone too.
    const removed = change.op === 'delete' ? change.key : change.oldKey;
    if (removed && !tx.applied && change.version) {
      tx.tombstones.push({ schema: change.schema, table: change.table, key: removed, version: change.version, ...(change.oldKey ? { movedTo: change.key } : {}) });
    }
    if (change.op !== 'insert' && !tx.applied && change.before && this.options.releases?.wants(change.schema, change.table)) {
      tx.releases.push({ schema: change.schema, table: change.table, image: change.before });
    }
    if (tx.applied) {
      // Notifications are all it ships: a huge applied transaction goes in parts too, so they never
      // pile up until its commit (1M rows held about 90 MB of heap in the applying daemon).
      if (tx.notifications.length * NOTIFICATION_BYTES >= this.options.maxMessageBytes) this.emitPart(tx, undefined);
      return;
    }
    const full = tx.encoder.add(shipped);
    if (full.length > 0) {
      for (const m of full) {
        tx.chunks.push(m);
        tx.bytes += m.length;
      }
      this.emitPart(tx, undefined);
    }
  }

  private commit(position: string, timestamp: number): void {
    // A group we opened no transaction for (DDL, a MySQL DDL's GTID) still moves the position.
    const tx = this.tx ?? this.open(position, timestamp);
    this.tx = undefined;
    this.lastPosition = position;
    if (tx.changed && !tx.applied) {
      for (const m of tx.encoder.finish({ position, commitTime: timestamp })) {
        tx.chunks.push(m);
        tx.bytes += m.length;
      }
    }
    const routing = this.options.routingText?.();
    this.emitPart(tx, { position, commitTime: timestamp, ...(routing !== undefined ? { routing } : {}) });
  }

  private emitPart(tx: OpenTx, end: CapturedPart['end']): void {
    const receipt = tx.deletes.takeReceipt();
    this.options.emit({
      txId: tx.id,
      origin: tx.origin,
      applied: tx.applied,
      chunks: tx.chunks,
      notifications: tx.notifications,
      tombstones: tx.tombstones,
      ...(tx.truncates.length > 0 ? { truncates: tx.truncates } : {}),
      ...(tx.releases.length > 0 ? { releases: tx.releases } : {}),
      ...(receipt ? { receipt } : {}),
      end,
      bytes: tx.bytes + tx.notifications.length * NOTIFICATION_BYTES,
      rows: tx.rows,
    });
    tx.chunks = [];
    tx.notifications = [];
    tx.tombstones = [];
    tx.truncates = [];
    tx.releases = [];
    tx.bytes = 0;
    tx.rows = 0;
  }
}
