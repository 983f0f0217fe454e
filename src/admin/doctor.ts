/**
 * `drc doctor`: every preflight check of DESIGN.md section 9, one line each with the fix.
 */
import mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { versionColumnOf } from '../config/tables.js';
import { REQUIRED_BINLOG_SETTINGS, binlogVariantSettings, binlogVariantVerdicts, tablesWithoutPrimaryKey } from '../db/binlog-requirements.js';
import { TableFilter } from '../config/table-filter.js';
import { recordedCaptureStart } from '../db/capture-start.js';
import { connectionOptions } from '../db/connect.js';
import { isNoSuchTable, isUnknownSystemVariable } from '../db/mysql-errors.js';
import { readRouting } from '../db/routing-store.js';
import type { ShardRoute } from '../model/routing.js';
import { changesTopic } from '../model/topics.js';
import { describeRouting } from './routing.js';
import type { BrokerInspector } from '../model/ports.js';
import { KafkaTlsError } from '../errors.js';
import type { Check } from './check.js';
import { kafkaTlsCheck, mysqlTlsCheck, privilegesCheck } from './doctor-links.js';
import { foreignKeyFacts, foreignKeysCheck, keyCollationsCheck, schemaFacts, versionColumnTypesCheck, versionColumnUpdatesCheck } from './doctor-schema.js';
import { definerSql, guardStateOf, quoteIdent, type TriggerDefinition } from './trigger-guard.js';
import { replicatedTableTriggers, schemasHidingTriggers } from './triggers.js';
import { reasonOf, unreachableMessage } from './unreachable.js';
import { formatTableName } from './verify-names.js';

export type { Check } from './check.js';


export interface ServerFacts {
  ezone: string;
  serverId: number;
  domainId: number | null;
  increment: number;
  offset: number;
}

/**
 * Run every check; `brokers` is the Kafka cluster's inspector (handed in by the CLI). A check that had
 * no data to look at fails: an unreachable server is never reported as fine.
 */
export async function runDoctor(config: Config, brokers: BrokerInspector, only?: string): Promise<{ ok: boolean; checks: Check[] }> {
  const checks: Check[] = [];
  const facts: ServerFacts[] = [];
  const names = Object.keys(config.ezones);
  const routingVersions = new Map<string, number>();
  for (const ezone of only ? [only] : names) {
    const ez = config.ezones[ezone]!;
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection(connectionOptions(ez.mysql));
    } catch (err) {
      checks.push({ ezone, check: 'connect', ok: false, message: unreachableMessage(ezone, ez.mysql, err) });
      continue;
    }
    try {
      checks.push({ ezone, check: 'connect', ok: true, message: `${ez.mysql.host}:${ez.mysql.port} as ${ez.mysql.user}` });
      checks.push(await mysqlTlsCheck(conn, ezone, ez.mysql));
      const [[v]] = await conn.query<mysql.RowDataPacket[]>(
        `SELECT VERSION() AS version, @@log_bin AS log_bin, @@binlog_format AS binlog_format, @@binlog_row_image AS binlog_row_image,
                @@binlog_row_metadata AS binlog_row_metadata, @@server_id AS server_id, @@auto_increment_increment AS inc, @@auto_increment_offset AS off`,
      );
      const mariadb = String(v!.version).toLowerCase().includes('mariadb');
      for (const [name, want] of Object.entries(REQUIRED_BINLOG_SETTINGS)) {
        const have = String(v![name]).toUpperCase();
        const ok = have === want;
        const fix = name === 'log_bin' ? 'enable the binary log (log_bin) in the server config and restart' : `SET GLOBAL ${name}='${want}' and set it in the server config`;
        checks.push({ ezone, check: name, ok, message: ok ? `${name}=${want}` : `${name} is ${have}, DRC needs ${want} — ${fix}` });
      }
      // MySQL 8's compressed transactions and partial JSON updates: refused when on globally; when off,
      // a warning that a session may still turn them on (capture then stops at the event).
      for (const verdict of binlogVariantVerdicts(await binlogVariantSettings(conn))) {
        checks.push({ ezone, check: verdict.setting, ok: verdict.ok, ...(verdict.ok && verdict.value !== undefined ? { warning: true } : {}), message: verdict.message });
      }
      const [[d]] = mariadb ? await conn.query<mysql.RowDataPacket[]>('SELECT @@gtid_domain_id AS d') : [[{ d: null }]];
      facts.push({ ezone, serverId: Number(v!.server_id), domainId: d?.d === null || d?.d === undefined ? null : Number(d.d), increment: Number(v!.inc), offset: Number(v!.off) });

      const noPk = await tablesWithoutPrimaryKey(conn, config);
      checks.push({
        ezone,
        check: 'primary_keys',
        ok: noPk.length === 0,
        message:
          noPk.length === 0
            ? 'every replicated table has a primary key'
            : `no primary key: ${noPk.join(', ')} — refused: their changes are not replicated (every other table is); add a primary key and re-seed the table, or exclude it with replicate.exclude`,
      });
      const unprotected = await tablesWithoutVersionColumn(conn, config);
      checks.push({
        ezone,
        check: 'version_columns',
        ok: true,
        warning: unprotected.length > 0,
        message:
          unprotected.length === 0
            ? 'every replicated table has its version column'
            : `no version column, so no conflict protection (last arrival wins): ${unprotected.join(', ')} — add the column (default updated_at DATETIME(6) ON UPDATE CURRENT_TIMESTAMP(6)) or set tables.<t>.versionColumn`,
      });
      const columns = await schemaFacts(conn, config);
      checks.push(versionColumnTypesCheck(ezone, columns), versionColumnUpdatesCheck(ezone, columns), keyCollationsCheck(ezone, columns), foreignKeysCheck(ezone, await foreignKeyFacts(conn, config), columns, config));
      const [[me]] = await conn.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS u');
      const hidden = mariadb ? [] : await schemasHidingTriggers(conn, config);
      checks.push(triggersCheck(ezone, String(me!.u), await replicatedTableTriggers(conn, config), hidden));
      checks.push(await privilegesCheck(conn, ezone, ez.mysql.user));
      checks.push(await routingCheck(conn, ezone, config, routingVersions));
      checks.push(binlogRetentionCheck(ezone, await binlogRetentionSeconds(conn)));
      checks.push(await captureStartCheck(conn, ezone, changesTopic(config.kafka.topicPrefix, ezone)));
    } catch (err) {
      checks.push({ ezone, check: 'inspect', ok: false, message: `could not inspect the server: ${(err as Error).message}` });
    } finally {
      await conn.end();
    }
  }
  if (!only) checks.push(...crossChecks(facts, names), ...routingVersionsCheck(routingVersions));
  const kafka = await kafkaCheck(config, brokers);
  // The link's protection is judged only once the brokers were reached with it.
  const kafkaTls = kafka.ok ? kafkaTlsCheck(config.kafka) : { ezone: 'kafka', check: 'tls', ok: false, message: 'not checked: Kafka could not be reached (see above) — fix that first' };
  checks.push(kafka, kafkaTls);
  return { ok: checks.every((c) => c.ok), checks };
}

async function tablesWithoutVersionColumn(conn: mysql.Connection, config: Config): Promise<string[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT t.TABLE_SCHEMA AS s, t.TABLE_NAME AS t, GROUP_CONCAT(c.COLUMN_NAME) AS cols FROM information_schema.TABLES t
     JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
     WHERE t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys', 'drc_meta')
     GROUP BY t.TABLE_SCHEMA, t.TABLE_NAME`,
  );
  const filter = new TableFilter(config);
  return rows
    .filter((r) => filter.roleOf(String(r.s), String(r.t)).kind === 'replicated')
    .filter((r) => {
      const vc = versionColumnOf(config, String(r.s), String(r.t));
      return vc === null || !String(r.cols).split(',').includes(vc);
    })
    .map((r) => `${r.s}.${r.t}`);
}

/**
 * drc_meta.routing against the config's ownership.routing: after a switchover they differ by design
 * (the database is the routing in force); a warning, so the config gets updated before it seeds a new
 * ezone with stale owners.
 */
async function routingCheck(conn: mysql.Connection, ezone: string, config: Config, versions: Map<string, number>): Promise<Check> {
  let routes: ShardRoute[];
  try {
    routes = await readRouting(conn, config.kafka.topicPrefix);
    if (routes.length > 0) versions.set(ezone, Math.max(...routes.map((r) => r.version)));
  } catch (err) {
    if (isNoSuchTable(err)) return { ezone, check: 'routing', ok: true, message: 'drc_meta.routing not created yet (the first drc run seeds it from ownership.routing)' };
    throw err;
  }
  return routingDriftCheck(ezone, routes, config);
}

/** How long the server keeps binlogs, in seconds (0: for ever). */
async function binlogRetentionSeconds(conn: mysql.Connection): Promise<number> {
  try {
    const [[r]] = await conn.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.binlog_expire_logs_seconds AS s');
    return Number(r!.s);
  } catch (err) {
    if (!isUnknownSystemVariable(err)) throw err;
    const [[r]] = await conn.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.expire_logs_days AS d'); // MariaDB before 10.6, MySQL 5.7
    return Math.round(Number(r!.d) * 86_400);
  }
}

/** Capture resumes only while the binlog holds its place (README, "Binlog retention"): a short retention is a warning (pure). */
export function binlogRetentionCheck(ezone: string, seconds: number): Check {
  if (seconds === 0) return { ezone, check: 'binlog_retention', ok: true, message: 'binlogs are kept until purged by hand' };
  const hours = Math.round((seconds / 3600) * 10) / 10;
  if (seconds < 86_400) {
    return {
      ezone,
      check: 'binlog_retention',
      ok: true,
      warning: true,
      message: `binlogs are purged after ${hours} h: a DRC outage longer than that cannot resume (DRC_BINLOG_POSITION_GONE) — keep them longer than the longest outage you plan for (binlog_expire_logs_seconds)`,
    };
  }
  return { ezone, check: 'binlog_retention', ok: true, message: `binlogs are kept ${hours} h` };
}

/** A first start still recorded long after it was made: capture has not committed on `topic` since (db/capture-start.ts). */
async function captureStartCheck(conn: mysql.Connection, ezone: string, topic: string): Promise<Check> {
  try {
    return captureStartVerdict(ezone, topic, await recordedCaptureStart(conn, topic));
  } catch (err) {
    if (isNoSuchTable(err)) return captureStartVerdict(ezone, topic, undefined);
    throw err;
  }
}

/** The verdict on a recorded first start (pure): older than 10 min is a warning. */
export function captureStartVerdict(ezone: string, topic: string, recorded: { recordedAt: string; ageSeconds: number } | undefined): Check {
  if (!recorded) return { ezone, check: 'capture_start', ok: true, message: `no first start waiting for a Kafka commit on ${topic}` };
  const minutes = Math.floor(recorded.ageSeconds / 60);
  if (recorded.ageSeconds < 600) return { ezone, check: 'capture_start', ok: true, message: `capture started on ${topic} at ${recorded.recordedAt} UTC and has not committed yet` };
  return {
    ezone,
    check: 'capture_start',
    ok: true,
    warning: true,
    message: `capture started on ${topic} at ${recorded.recordedAt} UTC (${minutes} min ago) and has not committed on Kafka since: is ${ezone}'s daemon running and reaching Kafka? It starts there again until it commits; once the binlog no longer holds that start, capture pauses (README, "Binlog retention")`,
  };
}

/**
 * The routing versions of the ezones that hold routing must be equal: a different one is an ezone
 * that seeded stale routing or is not applying the others (pure; none when fewer than two hold it).
 */
export function routingVersionsCheck(versions: ReadonlyMap<string, number>): Check[] {
  if (versions.size < 2) return [];
  const listed = [...versions].map(([e, v]) => `${e} ${v}`).join(', ');
  if (new Set(versions.values()).size === 1) return [{ ezone: '*', check: 'routing_versions', ok: true, message: `every ezone at routing version ${[...versions.values()][0]}` }];
  const newest = Math.max(...versions.values());
  const behind = [...versions].filter(([, v]) => v < newest).map(([e]) => e);
  return [
    {
      ezone: '*',
      check: 'routing_versions',
      ok: false,
      message: `routing versions differ between ezones (${listed}): ${behind.join(', ')} behind — a switchover in flight settles within seconds (drc lag); one that stays behind seeded stale routing: stop its drc run, DELETE FROM drc_meta.routing WHERE topology = '<kafka.topicPrefix>' there with sql_log_bin = 0, start it again (it copies the routing of a reachable peer)`,
    },
  ];
}

/** The routing check of one ezone's rows (pure). */
export function routingDriftCheck(ezone: string, routes: readonly ShardRoute[], config: Pick<Config, 'ownership'>): Check {
  if (routes.length === 0) return { ezone, check: 'routing', ok: true, message: 'drc_meta.routing not seeded yet (the first drc run seeds it from ownership.routing)' };
  const d = describeRouting(ezone, routes, config);
  if (d.drift.length === 0) return { ezone, check: 'routing', ok: true, message: `routing version ${d.version} matches ownership.routing` };
  const ranges = d.drift.map((r) => `${r.shards} → ${r.owner}${r.state === 'banned' ? ' (banned)' : ''}`).join(', ');
  return {
    ezone,
    check: 'routing',
    ok: true,
    warning: true,
    message: `routing version ${d.version} in drc_meta differs from the config's ownership.routing: ${ranges} — the database is in force (drc routing); update ownership.routing to match (it seeds new ezones)`,
  };
}

/**
 * Triggers on replicated tables must do nothing in DRC's applier sessions (db/applier-mark.ts): a
 * trigger that fires again on applied rows duplicates what the origin's trigger wrote (it arrives as
 * rows of its own) or overwrites shipped values, and the ezones drift with no conflict recorded.
 * A trigger whose body the server hides from DRC's user cannot be judged: it fails too, and so do
 * `hiddenSchemas`, where MySQL does not even list the triggers to it.
 */
export function triggersCheck(ezone: string, account: string, triggers: TriggerDefinition[], hiddenSchemas: string[] = []): Check {
  const named = (ts: TriggerDefinition[]) => ts.map((t) => `${formatTableName({ schema: t.schema, table: t.name })} (${t.timing} ${t.event} on ${formatTableName(t)})`).join(', ');
  const by = (state: string) => triggers.filter((t) => guardStateOf(t.body) === state);
  const [unguarded, unreadable, custom] = [by('unguarded'), by('unreadable'), by('custom')];
  const problems: string[] = [];
  if (unguarded.length > 0) {
    problems.push(
      `${unguarded.length} trigger(s) on replicated tables fire again on the rows DRC applies (duplicate audit rows, shipped values overwritten): ${named(unguarded)} — run drc triggers guard --config <file> --ezone ${ezone} (keeps definer, sql_mode, body and order; --dry-run shows the change)`,
    );
  }
  if (unreadable.length > 0) {
    const schemas = [...new Set(unreadable.map((t) => t.schema))];
    problems.push(
      `cannot tell whether ${unreadable.length} trigger(s) on replicated tables skip DRC's applier: ${named(unreadable)} — the server hides their bodies from ${account} without the TRIGGER privilege: ${schemas.map((s) => `GRANT TRIGGER ON ${quoteIdent(s)}.* TO ${definerSql(account)}`).join('; ')}, then run drc doctor again`,
    );
  }
  if (hiddenSchemas.length > 0) {
    problems.push(
      `cannot see the triggers of replicated schemas ${hiddenSchemas.join(', ')}: MySQL lists triggers only to an account with the TRIGGER privilege — ${hiddenSchemas.map((s) => `GRANT TRIGGER ON ${quoteIdent(s)}.* TO ${definerSql(account)}`).join('; ')}, then run drc doctor again`,
    );
  }
  if (problems.length > 0) return { ezone, check: 'triggers', ok: false, message: problems.join('; ') };
  if (custom.length > 0) {
    return { ezone, check: 'triggers', ok: true, warning: true, message: `guarded by hand, not in DRC's form: ${named(custom)} — check that each does nothing while @drc_applier is set` };
  }
  return { ezone, check: 'triggers', ok: true, message: triggers.length === 0 ? 'no triggers on replicated tables' : `all ${triggers.length} trigger(s) on replicated tables skip DRC's applier` };
}

/** The checks across ezones; each fails, saying why, unless every ezone's facts were read. */
export function crossChecks(facts: ServerFacts[], names: string[]): Check[] {
  const missing = names.filter((n) => !facts.some((f) => f.ezone === n));
  if (missing.length > 0) {
    const message = `not checked: no data from ${missing.map((m) => `ezone ${m}`).join(', ')} (unreachable or not inspected, see above) — fix that first`;
    return ['server_ids', 'gtid_domains', 'auto_increment'].map((check) => ({ ezone: '*', check, ok: false, message }));
  }
  const ezones = names.length;
  const out: Check[] = [];
  const dup = (values: (number | null)[]) => values.filter((x, i) => x !== null && values.indexOf(x) !== i);
  const ids = facts.map((f) => f.serverId);
  out.push({
    ezone: '*',
    check: 'server_ids',
    ok: dup(ids).length === 0,
    message: dup(ids).length === 0 ? `distinct server_id: ${ids.join(', ')}` : `server_id ${dup(ids).join(', ')} used by more than one ezone — give every server its own server_id`,
  });
  const domains = facts.map((f) => f.domainId);
  if (domains.some((d) => d !== null)) {
    out.push({
      ezone: '*',
      check: 'gtid_domains',
      ok: dup(domains).length === 0,
      message: dup(domains).length === 0 ? `distinct gtid_domain_id: ${domains.join(', ')}` : `gtid_domain_id ${dup(domains).join(', ')} shared — give every ezone its own gtid_domain_id`,
    });
  }
  const incs = new Set(facts.map((f) => f.increment));
  const inc = facts[0]?.increment ?? 0;
  const offsets = facts.map((f) => f.offset);
  const okInc = incs.size <= 1 && inc >= ezones;
  const okOff = dup(offsets).length === 0 && offsets.every((o) => o >= 1 && o <= inc);
  out.push({
    ezone: '*',
    check: 'auto_increment',
    ok: okInc && okOff,
    message:
      okInc && okOff
        ? `auto_increment_increment=${inc} everywhere, distinct offsets ${offsets.join(', ')}`
        : `auto-increment keys can collide: increments ${[...incs].join('/')} (need one value ≥ ${ezones}), offsets ${offsets.join(', ')} (need distinct, 1..increment) — set auto_increment_increment and auto_increment_offset per server`,
  });
  return out;
}

async function kafkaCheck(config: Config, brokers: BrokerInspector): Promise<Check> {
  try {
    const count = await brokers.brokerCount();
    return { ezone: 'kafka', check: 'kafka', ok: true, message: `${count} broker(s) reachable at ${config.kafka.brokers.join(', ')}` };
  } catch (err) {
    // A TLS failure's message already names the broker, the key, the file and the fix (transport/tls-failure.ts).
    if (err instanceof KafkaTlsError) return { ezone: 'kafka', check: 'kafka', ok: false, message: `cannot connect: ${err.message}` };
    return { ezone: 'kafka', check: 'kafka', ok: false, message: `cannot reach Kafka at ${config.kafka.brokers.join(', ')}: ${reasonOf(err)} — is the broker running? check kafka.brokers` };
  }
}
