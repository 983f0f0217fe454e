/**
 * `drc doctor`'s checks of replicated tables' columns and keys that weaken last-writer-wins without
 * breaking replication (issue 13): warnings, each with the fix. The query is `schemaFacts`; the
 * judgements are pure.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { versionColumnOf } from '../config/tables.js';
import { TableFilter } from '../config/table-filter.js';
import type { Check } from './check.js';

/** One column of a replicated table, as information_schema.COLUMNS describes it. */
export interface ColumnFact {
  schema: string;
  table: string;
  column: string;
  dataType: string;
  nullable: boolean;
  /** DATETIME_PRECISION: fractional digits of a temporal column, null for other types. */
  precision: number | null;
  /** EXTRA, lower case (MariaDB/MySQL: `on update current_timestamp(6)`, `auto_increment`, …). */
  extra: string;
  collation: string | null;
  /** Whether the column is part of the primary key or of a unique key. */
  inUniqueKey: boolean;
  /** The configured version column of its table. */
  isVersion: boolean;
}

const SYSTEM = "('mysql', 'information_schema', 'performance_schema', 'sys', 'drc_meta')";

/** The columns of replicated tables, with whether each is in a primary or unique key (two reads of information_schema, joined here: a correlated subquery over STATISTICS costs one table open per column). */
export async function schemaFacts(conn: mysql.Connection, config: Pick<Config, 'replicate' | 'tables'>): Promise<ColumnFact[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT c.TABLE_SCHEMA AS s, c.TABLE_NAME AS t, c.COLUMN_NAME AS col, c.DATA_TYPE AS type, c.IS_NULLABLE AS nullable,
            c.DATETIME_PRECISION AS prec, c.EXTRA AS extra, c.COLLATION_NAME AS coll
       FROM information_schema.COLUMNS c
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
      WHERE c.TABLE_SCHEMA NOT IN ${SYSTEM}
      ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`,
  );
  const [keyRows] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT DISTINCT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS col FROM information_schema.STATISTICS WHERE NON_UNIQUE = 0 AND TABLE_SCHEMA NOT IN ${SYSTEM}`,
  );
  const id = (r: mysql.RowDataPacket) => JSON.stringify([String(r.s), String(r.t), String(r.col)]);
  const keyed = new Set(keyRows.map(id));
  const filter = new TableFilter(config);
  return rows
    .filter((r) => filter.roleOf(String(r.s), String(r.t)).kind === 'replicated')
    .map((r) => ({
      schema: String(r.s),
      table: String(r.t),
      column: String(r.col),
      dataType: String(r.type).toLowerCase(),
      nullable: r.nullable === 'YES',
      precision: r.prec === null ? null : Number(r.prec),
      extra: String(r.extra ?? '').toLowerCase(),
      collation: r.coll === null ? null : String(r.coll),
      inUniqueKey: keyed.has(id(r)),
      isVersion: versionColumnOf(config, String(r.s), String(r.t)) === String(r.col),
    }));
}

const TEMPORAL = new Set(['datetime', 'timestamp']);
/** At most 20 names, then how many more: a schema of thousands of tables stays one readable line. */
const named = (cols: ColumnFact[]) => {
  const shown = cols.slice(0, 20).map((c) => `${c.schema}.${c.table}.${c.column}`).join(', ');
  return cols.length > 20 ? `${shown} and ${cols.length - 20} more` : shown;
};

/** A warning listing `bad`, or a pass saying what was looked at. */
function warnIf(ezone: string, check: string, bad: ColumnFact[], text: { problem: string; fix: string; fine: string }): Check {
  return bad.length === 0 ? { ezone, check, ok: true, message: text.fine } : { ezone, check, ok: true, warning: true, message: `${text.problem}: ${named(bad)} — ${text.fix}` };
}

/**
 * Version columns that compare badly: NULL (a row without a version cannot be ordered against one
 * with a version) and whole seconds (two writes in the same second tie, and a tie is decided by the
 * rows' content, not by which came last).
 */
export function versionColumnTypesCheck(ezone: string, facts: ColumnFact[]): Check {
  const versions = facts.filter((c) => c.isVersion);
  const bad = versions.filter((c) => c.nullable || (TEMPORAL.has(c.dataType) && c.precision === 0));
  return warnIf(
    ezone,
    'version_column_types',
    bad,
    {
      problem: 'version columns that are nullable or count whole seconds (writes in the same second tie, decided by content, not by time)',
      fix: 'make them NOT NULL DATETIME(6)',
      fine: `${versions.length} version column(s): NOT NULL, sub-second or counters`,
    },
  );
}

/**
 * A DATETIME/TIMESTAMP version column the server does not set on UPDATE keeps its old value when a
 * statement does not set it: the newer write carries an older version and may lose to an older one.
 * (A counter cannot be judged from the schema: the application sets it.)
 */
export function versionColumnUpdatesCheck(ezone: string, facts: ColumnFact[]): Check {
  const temporal = facts.filter((c) => c.isVersion && TEMPORAL.has(c.dataType));
  const bad = temporal.filter((c) => !c.extra.includes('on update'));
  return warnIf(
    ezone,
    'version_column_updates',
    bad,
    {
      problem: 'version columns the server does not set on UPDATE (a write that leaves them alone keeps the old version and can lose to an older write)',
      fix: 'add ON UPDATE CURRENT_TIMESTAMP(6), or make sure every write sets them',
      fine: `${temporal.length} temporal version column(s), each ON UPDATE CURRENT_TIMESTAMP`,
    },
  );
}

/**
 * Key columns under a case- or accent-insensitive collation: 'Alice' and 'alice' are one row. DRC
 * follows the collation (keys-collation test), so writes of both in two ezones are one conflict with one
 * winner: right when they are meant as one key, a lost row when they are not.
 */
export function keyCollationsCheck(ezone: string, facts: ColumnFact[]): Check {
  const keys = facts.filter((c) => c.inUniqueKey && c.collation !== null);
  const bad = keys.filter((c) => /_(ci|ai)(_|$)/i.test(c.collation!));
  return warnIf(
    ezone,
    'key_collations',
    bad,
    {
      problem: "primary or unique key columns under a case- or accent-insensitive collation (values equal under it, e.g. 'Alice' and 'alice', are one key: writing both in two ezones keeps one)",
      fix: 'use a _bin collation where they are different keys',
      fine: `${keys.length} text key column(s), none case-insensitive`,
    },
  );
}

/** One foreign key of a replicated table (the child), as information_schema describes it. */
export interface ForeignKeyFact {
  schema: string;
  table: string;
  name: string;
  refSchema: string;
  refTable: string;
  onDelete: string;
}

/** The foreign keys whose child is a replicated table. */
export async function foreignKeyFacts(conn: mysql.Connection, config: Pick<Config, 'replicate' | 'tables'>): Promise<ForeignKeyFact[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT CONSTRAINT_SCHEMA AS s, TABLE_NAME AS t, CONSTRAINT_NAME AS name, UNIQUE_CONSTRAINT_SCHEMA AS rs, REFERENCED_TABLE_NAME AS rt, DELETE_RULE AS del
       FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA NOT IN ${SYSTEM} ORDER BY 1, 2, 3`,
  );
  const filter = new TableFilter(config);
  return rows
    .filter((r) => filter.roleOf(String(r.s), String(r.t)).kind === 'replicated')
    .map((r) => ({ schema: String(r.s), table: String(r.t), name: String(r.name), refSchema: String(r.rs), refTable: String(r.rt), onDelete: String(r.del).toUpperCase() }));
}

/**
 * Foreign keys whose effects DRC cannot decide (README "Foreign keys"): cascades are not in the binlog,
 * each ezone's own cascade re-derives them, and a child write meeting a parent deleted concurrently is
 * decided by the parent's tombstone. That needs the parent replicated (else the ezones' parents differ),
 * versioned (tombstones) and not itself removed by a cascade (a row removed by its own parent's ON
 * DELETE CASCADE / SET NULL leaves no binlog event, so no tombstone): otherwise such a child write is
 * retried and then pauses its stream — loudly, but not decided.
 */
export function foreignKeysCheck(ezone: string, fks: ForeignKeyFact[], columns: ColumnFact[], config: Pick<Config, 'replicate' | 'tables'>): Check {
  const filter = new TableFilter(config);
  const versioned = new Set(columns.filter((c) => c.isVersion).map((c) => JSON.stringify([c.schema, c.table])));
  const cascaded = new Set(fks.filter((f) => f.onDelete === 'CASCADE' || f.onDelete === 'SET NULL').map((f) => JSON.stringify([f.schema, f.table])));
  const problems: string[] = [];
  for (const f of fks) {
    const name = `${f.schema}.${f.table} (${f.name}) → ${f.refSchema}.${f.refTable}`;
    if (filter.roleOf(f.refSchema, f.refTable).kind !== 'replicated') problems.push(`${name}: parent not replicated`);
    else if (!versioned.has(JSON.stringify([f.refSchema, f.refTable]))) problems.push(`${name}: parent has no version column (no tombstones)`);
    else if (cascaded.has(JSON.stringify([f.refSchema, f.refTable]))) problems.push(`${name}: parent rows vanish in a cascade of their own parent (no tombstones)`);
  }
  if (problems.length === 0) return { ezone, check: 'foreign_keys', ok: true, message: `${fks.length} foreign key(s) of replicated tables: every parent replicated, versioned and tombstoned on delete` };
  const shown = problems.slice(0, 20).join('; ') + (problems.length > 20 ? `; and ${problems.length - 20} more` : '');
  return {
    ezone,
    check: 'foreign_keys',
    ok: true,
    warning: true,
    message: `foreign keys whose concurrent parent deletes DRC cannot decide (a child written meanwhile in another ezone pauses that stream instead): ${shown} — replicate and version the parent tables, or keep writes of such a parent and its children in one ezone`,
  };
}
