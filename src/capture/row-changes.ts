/**
 * One binlog row as the row changes DRC ships (model/change.ts): keys, images and last-writer-wins
 * versions, read by column type. Pure; the assembler (assembler.ts) feeds it.
 */
import type { Operation, RowChange } from '../model/change.js';
import { typeOf, type ColumnTypes } from '../model/types/row.js';
import { sameValue, type Row } from '../model/value.js';
import { maxVersion, versionFromMillis, versionOf } from '../model/version.js';

/** A row of a rows event: the image of an insert or delete, both images of an update. */
export type BinlogRow = Row | { before: Row; after: Row };

/** What the table map says of a table, as the conversion needs it. */
export interface TableInfo {
  schema: string;
  table: string;
  primaryKey: string[] | undefined;
  /** Columns of a date/time type. */
  temporal?: string[];
  /** Column types from the table map: keys and versions are read by type (a DOUBLE key exactly). */
  columnTypes?: ColumnTypes;
}

/** The row changes of one binlog row (an update of the primary key is one update carrying its old key). */
export function toChanges(op: Operation, raw: BinlogRow, info: TableInfo, versionColumn: string | null, eventTimeMs: number): RowChange[] {
  const base = { schema: info.schema, table: info.table };
  const pk = info.primaryKey ?? [];
  if (op === 'insert') {
    const after = raw as Row;
    return [{ ...base, op, key: keyOf(after, pk), after, ...versionField(after, versionColumn, info.columnTypes) }];
  }
  if (op === 'delete') {
    const before = raw as Row;
    return [deleteChange(base, before, info, versionColumn, eventTimeMs)];
  }
  const { before, after } = raw as { before: Row; after: Row };
  const key = keyOf(after, pk);
  const oldKey = keyOf(before, pk);
  const moved = sameKey(key, oldKey, pk, info.columnTypes) ? {} : { oldKey };
  return [{ ...base, op, key, ...moved, before, after, ...versionField(after, versionColumn, info.columnTypes) }];
}

/**
 * When a delete (or a truncate) happened, to the millisecond, for its version (DESIGN.md section 5
 * rule 1). The binlog's event time has whole seconds only (MariaDB 10.11 has nothing finer), which
 * made a delete lose against an update earlier in the same second. Capture's clock when the event
 * arrived, clamped into the event's second, is precise to capture's lag while capture keeps up (the
 * binlog is written at commit and streamed at once). A capture reading the event after its second
 * (catching up after a stop or a crash) knows only a lower bound: `latestMs`, the newest version
 * time of a local write before it in the binlog (committed before it, so not later than it) when
 * that falls in the event's second, else the second's start. Never later than the delete: a write the
 * origin makes after its delete must not count as older than it (the ezones would part over it). A clock
 * behind the server's counts it at the start of its second. Computed once per transaction and
 * recorded (db/capture-receipts.ts): a re-read after a crash gives the same value.
 */
export function deleteTime(eventTimeMs: number, receivedAtMs: number | undefined, latestMs?: number): number {
  const second = Math.floor(eventTimeMs / 1000) * 1000;
  if (receivedAtMs === undefined) return eventTimeMs;
  if (receivedAtMs >= second + 1000) return latestMs !== undefined && latestMs >= second && latestMs < second + 1000 ? Math.floor(latestMs) : second;
  return Math.max(Math.floor(receivedAtMs), second);
}

function deleteChange(base: { schema: string; table: string }, before: Row, info: TableInfo, versionColumn: string | null, eventTimeMs: number): RowChange {
  const change: RowChange = { ...base, op: 'delete', key: keyOf(before, info.primaryKey ?? []), before };
  if (versionColumn === null || !(versionColumn in before)) return change;
  const own = versionOf(before[versionColumn], typeOf(info.columnTypes, versionColumn));
  if (own === undefined) return change;
  // Rule 1: a delete's version is the larger of the before-image's and the time of the delete
  // (`eventTimeMs`: deleteTime, to the millisecond). Times are only comparable with temporal versions;
  // integer versions (counters) keep their own.
  change.version = info.temporal?.includes(versionColumn) ? maxVersion(own, versionFromMillis(eventTimeMs)) : own;
  return change;
}

function versionField(after: Row, versionColumn: string | null, types?: ColumnTypes): Pick<RowChange, 'version'> {
  if (versionColumn === null || !(versionColumn in after)) return {};
  const v = versionOf(after[versionColumn], typeOf(types, versionColumn));
  return v === undefined ? {} : { version: v };
}

function keyOf(row: Row, pk: string[]): Row {
  const key: Row = {};
  for (const col of pk) key[col] = row[col] ?? null;
  return key;
}

/** Same primary key, each column by its type: a DOUBLE key changed beyond float32 precision is a new key. */
function sameKey(a: Row, b: Row, pk: string[], types?: ColumnTypes): boolean {
  return pk.every((c) => sameValue(a[c], b[c], typeOf(types, c)));
}
