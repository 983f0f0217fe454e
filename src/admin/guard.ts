/**
 * `drc guard install|remove` (issue 17): the write guard's triggers (admin/guard-sql.ts) on every
 * hash-sharded table of the config (or those named), in every ezone, each with its own ezone's name.
 * Installing seeds drc_meta.routing when no daemon has yet (the triggers read it).
 */
import mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { peerRoutingOf, scopeOf, seedRouting } from '../db/routing-store.js';
import { ensureMetaSchema } from '../db/meta-schema.js';
import { UsageError } from '../errors.js';
import { createGuardSql, dropGuardSql, GUARD_EVENTS, GUARD_TRIGGER_PREFIX, guardTriggerName, type GuardTarget } from './guard-sql.js';
import { reasonOf, unreachableMessage } from './unreachable.js';

export interface GuardTableEntry {
  ezone: string;
  table: string;
  status: 'installed' | 'removed' | 'absent' | 'failed';
  triggers: string[];
  reason?: string;
}

export interface GuardReport {
  ok: boolean;
  tables: GuardTableEntry[];
  unreachable: string[];
}

/** The hash-sharded tables to guard: all of the config's, or those of `only` (each must be one). */
export function guardedTables(config: Pick<Config, 'ownership'>, only?: string[]): { schema: string; table: string; column: string }[] {
  const sharded = Object.entries(config.ownership.tables).filter(([, rule]) => rule.function === 'hash');
  const names = only ?? sharded.map(([name]) => name);
  return names.map((name) => {
    const rule = config.ownership.tables[name];
    if (!rule) throw new UsageError(`--tables: ${name} has no shard rule under ownership.tables: add one (function: hash, column: …) or leave it out`);
    if (rule.function !== 'hash') throw new UsageError(`--tables: ${name} is sharded by ranges, whose owners are not versioned: only hash-sharded tables are guarded`);
    const [schema, table] = name.split('.') as [string, string];
    return { schema, table, column: rule.column };
  });
}

/** Install (or remove) the guard in every ezone. `account` replaces the config's (it needs TRIGGER). */
export async function runGuard(
  config: Config,
  action: 'install' | 'remove',
  options: { tables?: string[]; ezone?: string; account?: { user: string; password: string } },
): Promise<GuardReport> {
  const tables = guardedTables(config, options.tables);
  const report: GuardReport = { ok: true, tables: [], unreachable: [] };
  for (const ezone of options.ezone ? [options.ezone] : Object.keys(config.ezones)) {
    const ez = config.ezones[ezone]!;
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection({ ...connectionOptions(ez.mysql), ...(options.account ?? {}) });
    } catch (err) {
      report.unreachable.push(unreachableMessage(ezone, { ...ez.mysql, user: options.account?.user ?? ez.mysql.user }, err));
      continue;
    }
    try {
      if (action === 'install') {
        await ensureMetaSchema(conn);
        await seedRouting(conn, scopeOf(config), peerRoutingOf(config, ezone));
      }
      for (const t of tables) report.tables.push(await guardTable(conn, action, { ...t, shardCount: config.ownership.shardCount, ezone, topology: config.kafka.topicPrefix }));
    } finally {
      await conn.end().catch(() => undefined);
    }
  }
  report.ok = report.unreachable.length === 0 && report.tables.every((t) => t.status !== 'failed');
  return report;
}

async function guardTable(conn: mysql.Connection, action: 'install' | 'remove', t: GuardTarget): Promise<GuardTableEntry> {
  const name = `${t.schema}.${t.table}`;
  const entry: GuardTableEntry = { ezone: t.ezone, table: name, status: action === 'install' ? 'installed' : 'removed', triggers: [] };
  try {
    if (action === 'remove') {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        'SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME LIKE ?',
        [t.schema, t.table, `${GUARD_TRIGGER_PREFIX.replaceAll('_', '\\_')}%`],
      );
      for (const r of rows) {
        await conn.query(dropGuardSql(t.schema, String(r.n)));
        entry.triggers.push(String(r.n));
      }
      if (rows.length === 0) entry.status = 'absent';
      return entry;
    }
    const [cols] = await conn.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [t.schema, t.table, t.column]);
    if (Number(cols[0]!.n) === 0) {
      return { ...entry, status: 'failed', reason: `no column ${t.column} in ${name} here (ownership.tables.${name}.column): create the table first, or fix the shard rule` };
    }
    for (const event of GUARD_EVENTS) {
      const trigger = guardTriggerName(t.table, event);
      await conn.query(dropGuardSql(t.schema, trigger));
      await conn.query(createGuardSql(t, event));
      entry.triggers.push(trigger);
    }
    return entry;
  } catch (err) {
    return { ...entry, status: 'failed', reason: reasonOf(err) };
  }
}
