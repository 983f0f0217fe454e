/**
 * Replicated tables capture refuses because they have no primary key (DESIGN.md section 5): their row
 * changes are skipped and counted by table, reported once at error level, and shown by /healthz and
 * metrics — while every other table keeps replicating. A table that gets a primary key later
 * replicates from its next change on (the binlog's table map says so under binlog_row_metadata=FULL).
 */
import { ErrorCode } from '../errors.js';
import type { RefusedTable } from '../model/stats.js';
import type { Logger } from '../ops/logger.js';

export class RefusedTables {
  /** By `schema.table`; the object capture's stats expose (a live record). */
  readonly tables: Record<string, RefusedTable> = {};
  private refusing = 0;

  constructor(private readonly log: Logger) {}

  /** Any table refused right now (a cheap check on the hot path). */
  get any(): boolean {
    return this.refusing > 0;
  }

  /** Found without a primary key by the preflight (nothing skipped yet). */
  known(table: string): void {
    this.mark(table, 0);
  }

  /** `rows` row changes of `table` were skipped. */
  refuse(table: string, rows: number): void {
    this.mark(table, rows);
  }

  /** `table` has a primary key now: it replicates from here on. */
  keyed(table: string): void {
    const t = this.tables[table];
    if (!t?.refusing) return;
    t.refusing = false;
    this.refusing--;
    this.log.warn({ table, skippedRows: t.rows }, 'table has a primary key now: it replicates from here on (rows written before were not replicated: re-seed them)');
  }

  isRefused(table: string): boolean {
    return this.tables[table]?.refusing === true;
  }

  private mark(table: string, rows: number): void {
    const t = (this.tables[table] ??= { rows: 0, refusing: false });
    t.rows += rows;
    if (t.refusing) return;
    t.refusing = true;
    this.refusing++;
    this.log.error(
      { code: ErrorCode.noPrimaryKey, table },
      'table has no primary key: DRC refuses it — its row changes are skipped (not replicated) while every other table replicates; add a primary key, or exclude it with replicate.exclude',
    );
  }
}
