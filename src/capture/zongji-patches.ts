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
 */
import { TypeCode } from '../model/types/column-meta.js';

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
  installed = true;
}
