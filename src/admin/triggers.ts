/**
 * `drc triggers guard`: rewrites every trigger on a replicated table, in every ezone, so that it skips
 * DRC's applier sessions (the decision is trigger-guard.ts); and the triggers `drc doctor` inspects.
 */
import mysql from 'mysql2/promise';
import type { Config, MysqlConfig } from '../config/schema.js';
import { TableFilter } from '../config/table-filter.js';
import { connectionOptions, detectFlavor } from '../db/connect.js';
import { isAccessDenied } from '../db/mysql-errors.js';
import { planGuard, quoteIdent, sessionSql, type GuardPlan, type TriggerDefinition } from './trigger-guard.js';
import { reasonOf, unreachableMessage } from './unreachable.js';
import { formatTableName } from './verify-names.js';

const TRIGGERS_SQL = `SELECT TRIGGER_SCHEMA AS s, TRIGGER_NAME AS n, EVENT_OBJECT_TABLE AS t, ACTION_TIMING AS timing,
       EVENT_MANIPULATION AS event, ACTION_ORDER AS ord, ACTION_STATEMENT AS body, DEFINER AS definer,
       SQL_MODE AS sql_mode, CHARACTER_SET_CLIENT AS cs, COLLATION_CONNECTION AS coll
  FROM information_schema.TRIGGERS
 WHERE TRIGGER_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')`;
const ORDER = ' ORDER BY TRIGGER_SCHEMA, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER';

/**
 * The triggers on replicated tables that `conn` can see. (MariaDB lists them to DRC's own user;
 * MySQL only to an account with the TRIGGER privilege on the table.)
 */
export async function replicatedTableTriggers(conn: mysql.Connection, config: Pick<Config, 'replicate' | 'tables'>, only?: { schema: string; name: string }): Promise<TriggerDefinition[]> {
  const [rows] = only
    ? await conn.query<mysql.RowDataPacket[]>(`${TRIGGERS_SQL} AND TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?`, [only.schema, only.name])
    : await conn.query<mysql.RowDataPacket[]>(TRIGGERS_SQL + ORDER);
  const filter = new TableFilter(config);
  return rows
    .map((r) => ({
      schema: String(r.s),
      name: String(r.n),
      table: String(r.t),
      timing: String(r.timing),
      event: String(r.event),
      order: Number(r.ord),
      body: r.body === null ? null : String(r.body),
      definer: r.definer === null ? null : String(r.definer),
      sqlMode: String(r.sql_mode),
      characterSetClient: String(r.cs),
      collationConnection: String(r.coll),
    }))
    .filter((t) => filter.roleOf(t.schema, t.table).kind === 'replicated');
}

/**
 * MySQL lists a trigger only to an account with the TRIGGER privilege on its table: the replicated
 * schemas whose triggers `conn`'s account cannot see (none when it holds TRIGGER globally; a grant
 * on single tables is not looked at, so such a schema counts as hidden). MariaDB lists them all.
 */
export async function schemasHidingTriggers(conn: mysql.Connection, config: Pick<Config, 'replicate' | 'tables'>): Promise<string[]> {
  const grantee = `CONCAT("'", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "'@'", SUBSTRING_INDEX(CURRENT_USER(), '@', -1), "'")`;
  const [[global]] = await conn.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'TRIGGER' AND GRANTEE = ${grantee}`);
  if (Number(global!.n) > 0) return [];
  const [granted] = await conn.query<mysql.RowDataPacket[]>(`SELECT DISTINCT TABLE_SCHEMA AS s FROM information_schema.SCHEMA_PRIVILEGES WHERE PRIVILEGE_TYPE = 'TRIGGER' AND GRANTEE = ${grantee}`);
  const [tables] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')`,
  );
  const filter = new TableFilter(config);
  const ok = new Set(granted.map((r) => String(r.s)));
  const replicated = new Set(tables.filter((r) => filter.roleOf(String(r.s), String(r.t)).kind === 'replicated').map((r) => String(r.s)));
  return [...replicated].filter((schema) => !ok.has(schema)).sort();
}

/** Seconds a trigger replacement waits for its table's metadata lock. */
const GUARD_LOCK_WAIT_S = 10;

export type GuardStatus = 'guarded' | 'would-guard' | 'already-guarded' | 'skipped' | 'failed';

export interface GuardEntry {
  ezone: string;
  /** `schema.trigger`, a part holding a dot, comma or backtick in backticks (as drc verify prints names). */
  trigger: string;
  /** `schema.table`, written the same way. */
  table: string;
  timing: string;
  event: string;
  status: GuardStatus;
  reason?: string;
  /** What runs (or, with --dry-run, would run) to guard it. */
  statements?: string[];
}

export interface GuardReport {
  /** False when a trigger failed, one was skipped that stays unguarded, or an ezone could not be read. */
  ok: boolean;
  dryRun: boolean;
  triggers: GuardEntry[];
  /** One line per ezone that could not be reached or read (the CLI exits 3). */
  unreachable: string[];
}

export interface GuardOptions {
  ezone?: string;
  dryRun?: boolean;
  /** Another account than the config's (guarding needs TRIGGER, and SUPER or SET USER for another definer). */
  account?: { user: string; password: string };
}

/** Guard every trigger on a replicated table in every ezone (or `options.ezone`), one after the other. */
export async function guardTriggers(config: Config, options: GuardOptions = {}): Promise<GuardReport> {
  const report: GuardReport = { ok: true, dryRun: options.dryRun ?? false, triggers: [], unreachable: [] };
  for (const ezone of options.ezone ? [options.ezone] : Object.keys(config.ezones)) {
    const { passwordFile, ...own } = config.ezones[ezone]!.mysql;
    // --user/--password-env replace the whole account, the config's passwordFile with it.
    const mysqlCfg: MysqlConfig = options.account ? { ...own, ...options.account } : { ...own, ...(passwordFile !== undefined ? { passwordFile } : {}) };
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection(connectionOptions(mysqlCfg));
    } catch (err) {
      report.unreachable.push(unreachableMessage(ezone, mysqlCfg, err));
      continue;
    }
    try {
      const { entries, unguardedSkips } = await guardEzone(conn, mysqlCfg, ezone, config, report.dryRun);
      report.triggers.push(...entries);
      if (unguardedSkips > 0) report.ok = false;
    } catch (err) {
      report.unreachable.push(`ezone ${ezone}: could not read its triggers: ${reasonOf(err)}`);
    } finally {
      await conn.end().catch(() => undefined);
    }
  }
  if (report.unreachable.length > 0 || report.triggers.some((t) => t.status === 'failed')) report.ok = false;
  return report;
}

/** The ezone's entries, and how many skipped triggers stay unguarded (a hand-written guard does not count). */
async function guardEzone(conn: mysql.Connection, mysqlCfg: MysqlConfig, ezone: string, config: Config, dryRun: boolean): Promise<{ entries: GuardEntry[]; unguardedSkips: number }> {
  const flavor = await detectFlavor(conn);
  const triggers = await replicatedTableTriggers(conn, config);
  const out: GuardEntry[] = [];
  let unguardedSkips = 0;
  for (const trigger of triggers) {
    const siblings = triggers.filter((t) => t.schema === trigger.schema && t.table === trigger.table && t.timing === trigger.timing && t.event === trigger.event);
    const plan = planGuard(trigger, siblings, flavor);
    const entry: GuardEntry = {
      ezone,
      trigger: formatTableName({ schema: trigger.schema, table: trigger.name }),
      table: formatTableName(trigger),
      timing: trigger.timing,
      event: trigger.event,
      status: 'already-guarded',
    };
    out.push(entry);
    if (plan.action === 'already-guarded') continue;
    if (plan.action === 'skip') {
      Object.assign(entry, { status: 'skipped', reason: plan.reason });
      if (!plan.custom) unguardedSkips++;
      continue;
    }
    entry.statements = plan.statements;
    if (dryRun) {
      entry.status = 'would-guard';
      continue;
    }
    try {
      await apply(conn, mysqlCfg, config, plan, trigger);
      entry.status = 'guarded';
    } catch (err) {
      const hint = isAccessDenied(err) ? ' — guarding needs the TRIGGER privilege on the table, SUPER while the binlog is on (unless log_bin_trust_function_creators=1), and SUPER or SET USER when the definer is another account: run with --user and --password-env of such an account' : '';
      Object.assign(entry, { status: 'failed', reason: `ezone ${ezone}, trigger ${entry.trigger}: ${reasonOf(err)}${hint}` });
    }
  }
  return { entries: out, unguardedSkips };
}

/**
 * Run a guard plan on a session of its own (it takes the trigger's sql_mode and character sets), then
 * read the trigger back: what the server stored must be the guarded body with everything else kept.
 */
async function apply(conn: mysql.Connection, mysqlCfg: MysqlConfig, config: Config, plan: Extract<GuardPlan, { action: 'guard' }>, trigger: TriggerDefinition): Promise<void> {
  const writer = await mysql.createConnection(connectionOptions(mysqlCfg));
  try {
    // Replacing a trigger waits for the table's metadata lock, and every write to the table queues
    // behind that wait: a long transaction holding the table fails this trigger after 10 s (said, per
    // trigger) instead of hanging the command and stalling the table's writers for the server's default (a day).
    await writer.query(`SET SESSION lock_wait_timeout = ${GUARD_LOCK_WAIT_S}`);
    for (const s of sessionSql(plan.session)) await writer.query(s.sql, s.params);
    let done = 0;
    try {
      for (const sql of plan.statements) {
        await writer.query(sql);
        done++;
      }
    } catch (err) {
      if (plan.restore.length > 0) await restore(writer, plan, done, err);
      throw err;
    }
  } finally {
    await writer.end().catch(() => undefined);
  }
  const [after] = await replicatedTableTriggers(conn, config, trigger);
  const kept = after && after.body === plan.body && after.definer === trigger.definer && after.sqlMode === trigger.sqlMode && after.order === trigger.order && after.timing === trigger.timing && after.event === trigger.event
    && after.characterSetClient === trigger.characterSetClient && after.collationConnection === trigger.collationConnection;
  if (!kept) throw new Error(`re-created, but the server's definition differs from the one intended (read back: ${after ? `order ${after.order}, definer ${after.definer}, sql_mode ${after.sqlMode}` : 'missing'}): inspect ${quoteIdent(trigger.schema)}.${quoteIdent(trigger.name)}`);
}


/**
 * MySQL, a statement of the plan failed: once the DROP ran (two statements done), the original comes
 * back before the lock is released; a trigger that could not be restored is said loudly, with the
 * statement that re-creates it.
 */
async function restore(writer: mysql.Connection, plan: Extract<GuardPlan, { action: 'guard' }>, done: number, cause: unknown): Promise<void> {
  try {
    if (done === 2) for (const sql of plan.restore) await writer.query(sql);
    else await writer.query('UNLOCK TABLES');
  } catch (err) {
    throw new Error(`${reasonOf(cause)}; the original trigger could NOT be restored (${reasonOf(err)}): re-create it with: ${plan.restore[0]}`, { cause: err });
  }
}
