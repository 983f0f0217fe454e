/**
 * The binlog reader: a thin adapter from zongji's events to the assembler's SourceEvents. One ZongJi
 * per connection attempt; a failed stream is stopped and started again by the caller from the last
 * position it handed on (gh-ost's "reconnect at the last complete transaction").
 */
import ZongJi from '@vlasky/zongji';
import type { MysqlConfig } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { RowMetadataError } from '../errors.js';
import { filePosition, parseFilePosition, withGtid } from '../model/position.js';
import { binlogTableColumns, type ZongjiTable } from '../model/types/column-meta.js';
import { columnType } from '../model/types/registry.js';
import { columnTypesOf, decodeBinlogRow, type ColumnTypes } from '../model/types/row.js';
import type { Logger } from '../ops/logger.js';
import type { SourceEvent } from './assembler.js';
import type { BinlogRow } from './row-changes.js';
import { installZongjiPatches } from './zongji-patches.js';

// zongji's decoders lose bytes (GEOMETRY, non-UTF-8 text, see zongji-patches.ts): patched before any reader starts.
await installZongjiPatches();

const EVENTS = ['mariadbgtid', 'gtid', 'query', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'heartbeat'];
const OPS = { writerows: 'insert', updaterows: 'update', deleterows: 'delete' } as const;
/** Row event flag (MySQL and MariaDB rows_event flags, parsed by zongji lib/rows_event.js): written with foreign_key_checks = 0. */
const NO_FOREIGN_KEY_CHECKS_F = 0x2;

export interface BinlogSourceOptions {
  mysql: MysqlConfig;
  /** Replica server id of this reader: unique per server. */
  serverId: number;
  /** Server heartbeat on an idle connection. */
  heartbeatMs: number;
  log: Logger;
  /** Every decoded event, in order. May throw: the stream then stops and `onError` gets the error. */
  onEvent: (ev: SourceEvent) => void;
  /** The stream failed (connection lost, decode error, handler error). Called once per start. */
  onError: (err: Error) => void;
}

// Minimal shapes of the zongji events we read (see @vlasky/zongji index.d.ts).
interface AnyEvent {
  getEventName(): string;
  timestamp: number;
  nextPosition: number;
  gtid?: string;
  [k: string]: unknown;
}

export class BinlogSource {
  private zongji: ZongJi | undefined;
  private failed = false;
  private paused = false;
  /** Inside a GTID transaction (BEGIN comes from the GTID event, not from a query). */
  private inGtidTx = false;
  /** Inside a transaction without a GTID (MySQL gtid_mode OFF: from its BEGIN query to its commit). */
  private inAnonymousTx = false;
  /** GTID of a group without a commit marker (DDL) being read. */
  private standaloneGtid: string | undefined;
  /**
   * When the last event (or server heartbeat) arrived, by this process's clock. Row and query events
   * carry it as `receivedAt`: the precise part of a delete's or truncate's version (assembler.ts).
   */
  lastEventAt = 0;
  /** Column types per table id, from the last table map (values decode through the type registry). */
  private readonly columnTypes = new Map<number, ColumnTypes>();

  constructor(private readonly options: BinlogSourceOptions) {}

  /** Start streaming after `position` (see model/position.ts). */
  start(position: string): void {
    // Row values are decoded by zongji and the type registry, not by a query typeCast (zongji's own queries keep mysql2's).
    const { typeCast: _typeCast, ...mysqlOptions } = connectionOptions(this.options.mysql);
    const zongji = new ZongJi({ ...mysqlOptions, dateStrings: true, timezone: 'Z', jsonStrings: true });
    this.zongji = zongji;
    this.failed = false;
    this.paused = false;
    this.inGtidTx = false;
    this.inAnonymousTx = false;
    this.standaloneGtid = undefined;
    this.columnTypes.clear();
    zongji.on('error', (err: Error) => this.fail(zongji, err));
    zongji.on('binlog', (e: unknown) => {
      const evt = e as AnyEvent;
      if (this.zongji !== zongji || this.failed) return;
      try {
        this.lastEventAt = Date.now();
        this.translate(zongji, evt);
      } catch (err) {
        this.fail(zongji, err as Error);
      }
    });
    const file = parseFilePosition(position);
    zongji.start({
      serverId: this.options.serverId,
      includeEvents: EVENTS,
      excludeSchema: { mysql: true, information_schema: true, performance_schema: true, sys: true },
      ...(file ? { filename: file.filename, position: file.position } : { gtidSet: position }),
    });
    // Queued on the binlog connection ahead of the dump request: heartbeats on an idle stream, and a
    // long write timeout so that a reader paused for back-pressure is not dropped by the server.
    const conn = (zongji as unknown as { connection: { query(sql: string, cb: (err: Error | null) => void): void } }).connection;
    conn.query(`SET @master_heartbeat_period = ${this.options.heartbeatMs * 1_000_000}`, () => undefined);
    conn.query('SET SESSION net_write_timeout = 3600, SESSION net_read_timeout = 3600', () => undefined);
  }

  /** Stop reading more events until resume() (back-pressure). */
  pause(): void {
    if (this.paused || !this.zongji) return;
    this.paused = true;
    (this.zongji as unknown as { connection?: { pause(): void } }).connection?.pause();
  }

  resume(): void {
    if (!this.paused || !this.zongji) return;
    this.paused = false;
    (this.zongji as unknown as { connection?: { resume(): void } }).connection?.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Stop the stream; tolerates zongji's teardown noise. */
  async stop(): Promise<void> {
    const zongji = this.zongji;
    this.zongji = undefined;
    if (!zongji) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      zongji.once('stopped', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        zongji.stop();
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private fail(zongji: ZongJi, err: Error): void {
    if (this.zongji !== zongji || this.failed) return;
    this.failed = true;
    this.options.onError(err);
  }

  private translate(zongji: ZongJi, evt: AnyEvent): void {
    const name = evt.getEventName();
    const emit = this.options.onEvent;
    switch (name) {
      case 'mariadbgtid':
        // A standalone group (DDL) has no commit marker: its query event is the DDL itself.
        this.inGtidTx = !evt.standalone;
        this.standaloneGtid = evt.standalone ? (evt.gtid as string) : undefined;
        if (!evt.standalone) emit({ type: 'begin', id: evt.gtid as string, timestamp: evt.timestamp });
        return;
      case 'gtid':
        // MySQL: a DDL group has no BEGIN; remember the GTID in case no COMMIT follows.
        this.inGtidTx = true;
        this.standaloneGtid = evt.gtid as string;
        emit({ type: 'begin', id: evt.gtid as string, timestamp: evt.timestamp });
        return;
      case 'query': {
        const query = String(evt.query).trim();
        const upper = query.slice(0, 16).toUpperCase();
        if (upper === 'BEGIN') {
          if (this.inGtidTx) return;
          this.inAnonymousTx = true;
          emit({ type: 'begin', id: this.anonymousId(zongji, evt), timestamp: evt.timestamp });
          return;
        }
        if (upper === 'COMMIT') {
          this.inGtidTx = false;
          this.inAnonymousTx = false;
          this.standaloneGtid = undefined;
          emit({ type: 'commit', position: this.position(zongji), timestamp: evt.timestamp });
          return;
        }
        if (/^(XA |SAVEPOINT|ROLLBACK)/.test(upper)) return;
        emit({ type: 'ddl', schema: String(evt.schema ?? ''), statement: query, timestamp: evt.timestamp, receivedAt: this.lastEventAt, id: this.standaloneGtid ?? this.anonymousId(zongji, evt) });
        // A DDL group ends with its statement: move the position past it now, not at the next
        // transaction (the server may stay idle, and the applier waits on this position).
        if (this.standaloneGtid) {
          const gtid = this.standaloneGtid;
          this.standaloneGtid = undefined;
          this.inGtidTx = false;
          emit({ type: 'commit', position: withGtid(zongji.gtidSet ?? '', gtid), timestamp: evt.timestamp });
        } else if (!this.inGtidTx && !this.inAnonymousTx) {
          // An anonymous statement (MySQL, gtid_mode OFF) is a group of its own too: a TRUNCATE in it ships now.
          emit({ type: 'commit', position: this.position(zongji), timestamp: evt.timestamp });
        }
        return;
      }
      case 'tablemap': {
        const hasFull = (evt.hasSelfDescribingMetadata as (() => boolean) | undefined)?.call(evt);
        if (!hasFull) {
          throw new RowMetadataError(`${String(evt.schemaName)}.${String(evt.tableName)}`);
        }
        const names = evt.columnNames as string[];
        const pk = evt.primaryKey as number[] | undefined;
        const types = evt.columnTypes as number[];
        const cached = (evt.tableMap as Record<number, ZongjiTable> | undefined)?.[evt.tableId as number];
        const columnTypes = columnTypesOf(binlogTableColumns(cached));
        this.columnTypes.set(evt.tableId as number, columnTypes);
        emit({
          type: 'table',
          tableId: evt.tableId as number,
          schema: evt.schemaName as string,
          table: evt.tableName as string,
          primaryKey: pk?.map((i) => names[i] as string),
          temporal: names.filter((_, i) => columnType({ typeCode: types[i] ?? -1 }).clockVersion),
          columnTypes,
        });
        return;
      }
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        emit({
          type: 'rows',
          op: OPS[name],
          tableId: evt.tableId as number,
          rows: this.decodeRows(evt),
          timestamp: evt.timestamp,
          receivedAt: this.lastEventAt,
          // The origin's foreign_key_checks for this event (a dump load turns them off): apply honours it.
          ...((Number(evt.flags ?? 0) & NO_FOREIGN_KEY_CHECKS_F) !== 0 ? { noFkChecks: true } : {}),
        });
        return;
      case 'xid':
        this.inGtidTx = false;
        this.inAnonymousTx = false;
        this.standaloneGtid = undefined;
        emit({ type: 'commit', position: this.position(zongji), timestamp: evt.timestamp });
        return;
      default:
        return; // heartbeat: only liveness (lastEventAt)
    }
  }

  /** zongji's row images → wire rows, each column through its type family (model/types/). */
  private decodeRows(evt: AnyEvent): BinlogRow[] {
    const types = this.columnTypes.get(evt.tableId as number);
    const rows = evt.rows as Record<string, unknown>[];
    if (evt.getEventName() !== 'updaterows') return rows.map((r) => decodeBinlogRow(r, types));
    return (rows as unknown as { before: Record<string, unknown>; after: Record<string, unknown> }[]).map((r) => ({
      before: decodeBinlogRow(r.before, types),
      after: decodeBinlogRow(r.after, types),
    }));
  }

  /**
   * The id of a transaction (or statement) without a GTID (MySQL with gtid_mode OFF writes anonymous
   * ones): the binlog file and the position right after its first event (its BEGIN, or the statement).
   * Unique, and the same when the transaction is read again after a crash: receipt times
   * (db/capture-receipts.ts) are kept by it. Not the executed GTID set, which an anonymous transaction
   * does not move (every one of them would share it).
   */
  private anonymousId(zongji: ZongJi, evt: AnyEvent): string {
    const filename = (zongji as unknown as { options: { filename?: string } }).options.filename;
    return filename && evt.nextPosition > 0 ? filePosition(filename, evt.nextPosition) : `${this.position(zongji)}+`;
  }

  /** The position after the last committed transaction. */
  private position(zongji: ZongJi): string {
    const gtid = zongji.gtidSet;
    if (gtid !== undefined) return gtid;
    const opts = (zongji as unknown as { options: { filename: string; position: number } }).options;
    return filePosition(opts.filename, opts.position);
  }
}
