/**
 * Fixes below DRC for @vlasky/zongji 0.9.0's row decoding (issue 12). zongji is ESM, so its decoders
 * (lib/common.js readMysqlValue, decodeTextColumn) cannot be replaced; what can be changed is the
 * TableMap class's prototype (lib/binlog_event.js), which builds the column list those decoders read.
 * The patch rewrites that list, once per table map, so that zongji hands DRC the column's raw bytes
 * where its own decoding loses information; the type families (model/types/) decode them exactly.
 *
 * Upstream bugs corrected here (line numbers of @vlasky/zongji 0.9.0):
 * - binlog_event.js:40-52 (CHARACTER_METADATA_TYPES) and :543 leave GEOMETRY out of the columns the
 *   charset lists of the optional metadata cover, while the server counts it (log_event.cc
 *   is_character_type: "Base class is blob for geom type"): in a table with a GEOMETRY column, every
 *   later string column gets the charset of the one before it (a latin1 TEXT read as sjis).
 * - common.js:450 decodes latin1 as cp1252, which has no mapping for 0x81 0x8D 0x8F 0x90 0x9D
 *   (they become U+FFFD); common.js:464 decodes every other charset through iconv-lite, whose tables
 *   are not the server's: text in a charset other than utf8mb3/utf8mb4 now arrives as raw bytes.
 * - common.js:774-778 parses GEOMETRY into {x, y} objects, dropping the SRID and the exact WKB: the
 *   column now arrives as the server's bytes (4-byte little-endian SRID, then WKB).
 * - common.js:682 `choices[raw - 1]` turns ENUM index 0 (the '' a non-strict sql_mode stores) into
 *   undefined: corrected in the ENUM family (model/types/enum-set.ts), where undefined can only be it.
 * - code_map.js:114 maps every event type it has no class for to Unknown, which the stream passes
 *   over, and packet/binlog.js:44 answers MySQL 8's TRANSACTION_PAYLOAD_EVENT and
 *   PARTIAL_UPDATE_ROWS_EVENT with one error per reader (index.js:951) and then skips them too (issue
 *   14): the Binlog command of every reader now reads each packet's event type first and, for a type
 *   binlog-event-types.ts refuses, emits UnsupportedBinlogEventError and hands the event on to
 *   nobody (zongji's position stays before it).
 */
import ZongJi from '@vlasky/zongji';
import { UnsupportedBinlogEventError } from '../errors.js';
import { TypeCode } from '../model/types/column-meta.js';
import { eventHeaderOf, refusalOf } from './binlog-event-types.js';

/** Charsets whose text zongji decodes exactly (Buffer#toString('utf8')); every other one arrives as bytes. */
const UTF8 = new Set(['utf8', 'utf8mb3', 'utf8mb4']);

/** The part of zongji's TableMap event this patch touches. */
interface TableMapEvent {
  tableId: number;
  tableMap: Record<number, { columns?: PatchedColumn[]; columnSchemas?: { COLUMN_TYPE?: string }[] } | undefined>;
  _effectiveColumnType(index: number): number;
  _readOptionalMetadata(parser: unknown, zongji: unknown): void;
  updateColumnInfo(): void;
}

/** A column of zongji's table map, with what the patch changed kept aside. */
export interface PatchedColumn {
  name: string;
  type: number;
  charset: string | null;
  /** The column's real type code, where the patch made zongji read it as a BLOB (GEOMETRY). */
  declaredType?: number;
  /** The column's real charset, where the patch made zongji hand over its bytes. */
  declaredCharset?: string;
}

const CLASSIFYING = Symbol('drc.classifying-optional-metadata');

/**
 * Rewrite one table map's columns so that zongji's readMysqlValue returns raw bytes for GEOMETRY and
 * for text outside UTF-8 (exported for unit tests: the rewrite is pure on the column list).
 */
export function rawBytesColumns(columns: PatchedColumn[], schemas: { COLUMN_TYPE?: string }[]): void {
  columns.forEach((col, i) => {
    if (col.type === TypeCode.GEOMETRY) {
      // Read as a BLOB: same length-prefixed layout (metadata length_size), no charset → a Buffer.
      col.declaredType = col.type;
      col.type = TypeCode.BLOB;
      col.charset = null;
      return;
    }
    if (col.charset === null || UTF8.has(col.charset) || col.declaredCharset !== undefined) return;
    const schema = schemas[i];
    if (isBlob(col.type)) {
      col.declaredCharset = col.charset;
      col.charset = null; // common.js:752 decodes only when a charset is set
    } else if ((col.type === TypeCode.VARCHAR || col.type === TypeCode.STRING || col.type === TypeCode.VARCHAR_COMPRESSED) && schema) {
      col.declaredCharset = col.charset;
      // common.js:690/728 hand over VARBINARY bytes as they are (no re-padding, unlike BINARY(n)).
      schema.COLUMN_TYPE = `varbinary /* ${schema.COLUMN_TYPE ?? ''} */`;
    }
  });
}

const isBlob = (t: number) => t === TypeCode.BLOB || t === TypeCode.TINY_BLOB || t === TypeCode.MEDIUM_BLOB || t === TypeCode.LONG_BLOB || t === TypeCode.BLOB_COMPRESSED;

/** The part of zongji's Binlog command (lib/sequence/binlog.js) the event-type guard wraps. */
interface BinlogCommandClass {
  prototype: { binlogData(this: { [REFUSED]?: true }, packet: BinlogPacketLike, connection: unknown): unknown; [GUARDED]?: true };
}

/** What the guard reads of a mysql2 packet: the payload lies in buffer[offset, end). */
export interface BinlogPacketLike {
  buffer: Buffer;
  offset: number;
  end: number;
}

/** The zongji reader, as the guard sees it. */
interface GuardedReader {
  options: { filename?: string };
  emit(event: 'error', err: Error): boolean;
}

const GUARDED = Symbol('drc.event-type-guard');
const BINLOG_CLASS = Symbol('drc.binlog-class');
const REFUSED = Symbol('drc.refused-event');

/**
 * Make a reader's Binlog command refuse the event types binlog-event-types.ts refuses: the packet's
 * header is read before zongji decodes (or skips) it; a refused event becomes an error on the reader
 * and the event is dropped before zongji's bookkeeping sees it. Exported for unit tests.
 */
export function guardEventTypes(binlogClass: BinlogCommandClass, reader: GuardedReader): void {
  const proto = binlogClass.prototype;
  if (proto[GUARDED]) return;
  const binlogData = proto.binlogData;
  proto.binlogData = function (this: { [REFUSED]?: true }, packet: BinlogPacketLike, connection: unknown): unknown {
    // After a refusal nothing more is handed on: the reader is about to be stopped, and no later
    // event may overtake the one refused.
    if (this[REFUSED]) return proto.binlogData;
    const header = eventHeaderOf(packet.buffer.subarray(packet.offset, packet.end));
    const refusal = header && refusalOf(header.typeCode, header.flags);
    if (!header || !refusal) return binlogData.call(this, packet, connection);
    this[REFUSED] = true;
    reader.emit('error', new UnsupportedBinlogEventError(refusal, `${reader.options.filename ?? '?'}:${header.nextPosition}`));
    return proto.binlogData;
  };
  proto[GUARDED] = true;
}

let installed = false;

/**
 * Patch zongji's TableMap (idempotent). Awaited once at module load by capture/binlog-source.ts, so
 * every ZongJi instance decodes through it.
 */
export async function installZongjiPatches(): Promise<void> {
  if (installed) return;
  const url = new URL('./lib/binlog_event.js', import.meta.resolve('@vlasky/zongji'));
  const mod = (await import(url.href)) as { TableMap: { prototype: TableMapEvent } };
  const proto = mod.TableMap.prototype;
  const { _effectiveColumnType: effectiveType, _readOptionalMetadata: readOptional, updateColumnInfo } = proto;
  // The charset lists count GEOMETRY among the string columns (binlog_event.js:543 does not).
  proto._effectiveColumnType = function (this: TableMapEvent & { [CLASSIFYING]?: boolean }, index: number): number {
    const type = effectiveType.call(this, index);
    return this[CLASSIFYING] && type === TypeCode.GEOMETRY ? TypeCode.BLOB : type;
  };
  proto._readOptionalMetadata = function (this: TableMapEvent & { [CLASSIFYING]?: boolean }, parser: unknown, zongji: unknown): void {
    this[CLASSIFYING] = true;
    try {
      readOptional.call(this, parser, zongji);
    } finally {
      this[CLASSIFYING] = false;
    }
  };
  proto.updateColumnInfo = function (this: TableMapEvent): void {
    updateColumnInfo.call(this);
    const table = this.tableMap[this.tableId];
    if (table?.columns) rawBytesColumns(table.columns, table.columnSchemas ?? []);
  };
  // index.js:821 `this.BinlogClass = initBinlogClass(this)` runs once per start(), before the dump
  // command is queued: an accessor on the prototype guards every reader's fresh class there.
  Object.defineProperty(ZongJi.prototype, 'BinlogClass', {
    configurable: true,
    get(this: { [BINLOG_CLASS]?: BinlogCommandClass }) {
      return this[BINLOG_CLASS];
    },
    set(this: GuardedReader & { [BINLOG_CLASS]?: BinlogCommandClass }, cls: BinlogCommandClass) {
      guardEventTypes(cls, this);
      this[BINLOG_CLASS] = cls;
    },
  });
  installed = true;
}
