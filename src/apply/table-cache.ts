/**
 * What the applier needs to know about a target table: its columns, primary key and unique keys, read
 * from information_schema and cached until a change no longer fits (then refreshed).
 */
import type mysql from 'mysql2/promise';
import type { QueryConnection } from '../db/pipelined-session.js';
import { foreignKeysOf, type ForeignKey } from '../db/table-keys.js';
import { schemaColumnMeta, type ColumnMeta, type SchemaColumnRow } from '../model/types/column-meta.js';
import { columnTypesOf, type ColumnTypes } from '../model/types/row.js';

export interface TableInfo {
  /** Every column, in table order, INVISIBLE ones included (rows are read with this list, never `SELECT *`). */
  columns: Set<string>;
  /** Generated columns (VIRTUAL, STORED/PERSISTENT): read and compared, never written. */
  generated?: Set<string>;
  primaryKey: string[];
  /** Unique keys other than the primary key. */
  uniqueKeys: string[][];
  /**
   * Beside uniqueKeys (same order), the prefix lengths of each key's columns (`UNIQUE KEY (name(10))`:
   * characters, bytes for a binary column), by column; absent where no unique key has a prefix.
   */
  uniquePrefixes?: Record<string, number>[];
  /** Each column as information_schema describes it (type, charset, collation, generated, nullable); set by TableCache. */
  columnMeta?: ColumnMeta[];
  /** Each column's type from the registry (model/types/), for the row helpers' optional `types`. */
  columnTypes?: ColumnTypes;
  /** Foreign keys of this table (it is the child): write sets order a child after its parent's changes. */
  foreignKeys?: ForeignKey[];
  /** Foreign keys referencing this table (it is the parent), self-references included. */
  referencedBy?: ForeignKey[];
}

export type { ForeignKey };


/** Table metadata as the apply path reads it (the cache below; a fixed map in unit tests). */
export interface TableSource {
  /** Table info, or null when the table does not exist. `refresh` re-reads it. */
  get(schema: string, table: string, refresh?: boolean): Promise<TableInfo | null>;
  /** Cached unique keys of `schema.table` (empty when unknown yet), without I/O. */
  uniqueKeysOf(qualified: string): string[][];
  /** Cached prefix lengths of its unique keys (TableInfo.uniquePrefixes), without I/O. */
  uniquePrefixesOf?(qualified: string): Record<string, number>[] | undefined;
  /** Cached foreign keys of `schema.table` both ways (empty when unknown yet), without I/O. */
  foreignKeysOf?(qualified: string): { outgoing: ForeignKey[]; incoming: ForeignKey[] };
  /** Drop what is cached (after a failure: the schema may have changed). */
  forget(): void;
}

/**
 * Whether information_schema EXTRA marks a generated column: `VIRTUAL GENERATED`, `STORED GENERATED`
 * (MariaDB 10.2+, MySQL 5.7+), `PERSISTENT` (older MariaDB). Read from EXTRA alone: MySQL 8 writes
 * `DEFAULT_GENERATED` for an expression default (a written column) and may fill GENERATION_EXPRESSION for it.
 */
export const isGeneratedExtra = (extra: unknown): boolean => /\b(VIRTUAL|STORED|PERSISTENT)\b/i.test(String(extra ?? ''));

export class TableCache implements TableSource {
  private readonly tables = new Map<string, TableInfo | null>();

  constructor(private readonly pool: QueryConnection) {}

  /** Table info, or null when the table does not exist. `refresh` re-reads it. */
  async get(schema: string, table: string, refresh = false): Promise<TableInfo | null> {
    const name = `${schema}.${table}`;
    if (!refresh && this.tables.has(name)) return this.tables.get(name) ?? null;
    const [cols] = (await this.pool.query(
      `SELECT COLUMN_NAME AS c, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, IS_NULLABLE, EXTRA, GENERATION_EXPRESSION
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [schema, table],
    )) as [mysql.RowDataPacket[], unknown];
    if (cols.length === 0) {
      this.tables.set(name, null);
      return null;
    }
    const [idx] = (await this.pool.query(
      `SELECT INDEX_NAME AS i, COLUMN_NAME AS c, SUB_PART AS p FROM information_schema.STATISTICS
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
      [schema, table],
    )) as [mysql.RowDataPacket[], unknown];
    const byIndex = new Map<string, string[]>();
    const prefixes = new Map<string, Record<string, number>>();
    for (const r of idx) {
      byIndex.set(String(r.i), [...(byIndex.get(String(r.i)) ?? []), String(r.c)]);
      const p = prefixes.get(String(r.i)) ?? {};
      if (r.p !== null && r.p !== undefined) p[String(r.c)] = Number(r.p);
      prefixes.set(String(r.i), p);
    }
    const unique = [...byIndex].filter(([name]) => name !== 'PRIMARY');
    const uniquePrefixes = unique.map(([name]) => prefixes.get(name) ?? {});
    const columnMeta = cols.map((r) => schemaColumnMeta(r as unknown as SchemaColumnRow));
    const fks = await foreignKeysOf(this.pool, schema, table);
    const info: TableInfo = {
      columns: new Set(cols.map((r) => String(r.c))),
      columnMeta,
      generated: new Set(cols.filter((r) => isGeneratedExtra(r.EXTRA)).map((r) => String(r.c))),
      columnTypes: columnTypesOf(columnMeta),
      primaryKey: byIndex.get('PRIMARY') ?? [],
      uniqueKeys: unique.map(([, c]) => c),
      ...(uniquePrefixes.some((p) => Object.keys(p).length > 0) ? { uniquePrefixes } : {}),
      foreignKeys: fks.outgoing,
      referencedBy: fks.incoming,
    };
    this.tables.set(name, info);
    return info;
  }

  /** Cached unique keys (empty when unknown yet): for write sets, which must not wait on I/O. */
  uniqueKeysOf(qualified: string): string[][] {
    return this.tables.get(qualified)?.uniqueKeys ?? [];
  }

  /** Cached prefix lengths of the unique keys (TableInfo.uniquePrefixes; undefined when none or unknown yet), without I/O. */
  uniquePrefixesOf(qualified: string): Record<string, number>[] | undefined {
    return this.tables.get(qualified)?.uniquePrefixes;
  }

  /** Cached foreign keys both ways (empty when unknown yet): for write sets, which must not wait on I/O. */
  foreignKeysOf(qualified: string): { outgoing: ForeignKey[]; incoming: ForeignKey[] } {
    const info = this.tables.get(qualified);
    return { outgoing: info?.foreignKeys ?? [], incoming: info?.referencedBy ?? [] };
  }

  forget(): void {
    this.tables.clear();
  }
}
