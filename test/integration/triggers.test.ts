/**
 * Issue 13, triggers: a trigger present in both ezones fires again on the rows DRC applies (an AFTER
 * INSERT audit trigger duplicates the audit row, a BEFORE INSERT/UPDATE trigger overwrites the shipped
 * time) — shown first, so this test can fail. `drc triggers guard` rewrites every trigger on a
 * replicated table so that it skips DRC's applier sessions (@drc_applier): then both ezones end equal
 * (CHECKSUM TABLE), local writes still fire every trigger as before (a compound body with DECLAREs,
 * labels, LEAVE and a sql_mode of its own included), definer, sql_mode, character sets and order are
 * kept, a second run and a dry run change nothing, and `drc doctor` fails before and passes after.
 * Also: only apply pools carry the mark; quoted names, a mysqldump-style trigger with a handler, and
 * the order of two triggers survive; an unreachable ezone is exit 3, named.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { GuardReport } from '../../src/admin/triggers.js';
import { createPool } from '../../src/db/connect.js';
import { freePort } from '../../src/sandbox/ports.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import { runDrc } from '../support/cli.js';
import { describeWithServers, infra } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

const VERSION = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';

/** A compound body: DECLAREs, a labelled loop, LEAVE of the outer label, a string holding "; END IF", `||` that only PIPES_AS_CONCAT makes a concatenation, a trailing comment. */
const NOTE_BODY = `note: BEGIN
  DECLARE n INT DEFAULT 0;
  DECLARE sep VARCHAR(12) DEFAULT 'é; END IF';
  counting: LOOP
    SET n = n + 1;
    IF n >= 3 THEN LEAVE counting; END IF;
  END LOOP counting;
  IF NEW.name = 'plain' THEN LEAVE note; END IF;
  SET NEW.note = NEW.name || sep || n; -- PIPES_AS_CONCAT: || joins text
END note`;
/** What NOTE_BODY writes for name 'x' (under the trigger's own sql_mode; `||` as OR would give 0 or 1). */
const NOTE_OF_X = 'xé; END IF3';

/** Triggers of both ezones, each created under the session settings named (stored with it). */
const TRIGGERS: { name: string; sqlMode: string; names: string; sql: string }[] = [
  { name: 'item_audit', sqlMode: 'STRICT_ALL_TABLES', names: 'utf8mb4', sql: "CREATE DEFINER=`drc`@`%` TRIGGER item_audit AFTER INSERT ON item FOR EACH ROW INSERT INTO audit (item_id, what) VALUES (NEW.id, 'insert')" },
  { name: 'item_stamp_ins', sqlMode: 'NO_ENGINE_SUBSTITUTION', names: 'utf8mb4', sql: 'CREATE TRIGGER item_stamp_ins BEFORE INSERT ON item FOR EACH ROW SET NEW.stamped_at = NOW(6) # stamped here' },
  { name: 'item_note', sqlMode: 'PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION', names: 'utf8mb4 COLLATE utf8mb4_unicode_ci', sql: `CREATE TRIGGER item_note BEFORE INSERT ON item FOR EACH ROW PRECEDES item_stamp_ins ${NOTE_BODY}` },
  { name: 'item_stamp_upd', sqlMode: 'NO_ENGINE_SUBSTITUTION', names: 'utf8mb4', sql: 'CREATE TRIGGER item_stamp_upd BEFORE UPDATE ON item FOR EACH ROW SET NEW.stamped_at = NOW(6)' },
  { name: 'item_note_upd', sqlMode: 'ANSI_QUOTES', names: 'latin1', sql: "CREATE TRIGGER item_note_upd BEFORE UPDATE ON item FOR EACH ROW FOLLOWS item_stamp_upd SET NEW.note = CONCAT('u:', NEW.name)" },
];

const OLD_STAMP = '2000-01-01 00:00:00.000000';

interface TriggerRow {
  name: string;
  timing: string;
  event: string;
  ord: number;
  body: string;
  definer: string;
  sql_mode: string;
  cs: string;
  coll: string;
  created: string;
}

async function triggersOf(conn: mysql.Connection, schema: string): Promise<TriggerRow[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT TRIGGER_NAME AS name, ACTION_TIMING AS timing, EVENT_MANIPULATION AS event, ACTION_ORDER AS ord, ACTION_STATEMENT AS body, DEFINER AS definer,
            SQL_MODE AS sql_mode, CHARACTER_SET_CLIENT AS cs, COLLATION_CONNECTION AS coll, CAST(CREATED AS CHAR) AS created
       FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME`,
    [schema],
  );
  return rows as TriggerRow[];
}

async function checksum(conn: mysql.Connection, table: string): Promise<string> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
  return String(rows[0]?.Checksum);
}

async function rows(conn: mysql.Connection, sql: string): Promise<mysql.RowDataPacket[]> {
  const [r] = await conn.query<mysql.RowDataPacket[]>(sql);
  return r;
}

/** The admin account of the test servers, for `--user root --password-env DRC_TEST_ADMIN_PASSWORD`. */
function admin(): { args: string[]; env: NodeJS.ProcessEnv } {
  const ez = infra().ezones[0]!;
  return { args: ['--user', ez.mysql.user, '--password-env', 'DRC_TEST_ADMIN_PASSWORD'], env: { DRC_TEST_ADMIN_PASSWORD: ez.mysql.password } };
}

async function guard(s: Scenario, extra: string[], withAdmin: boolean): Promise<{ code: number | null; report: GuardReport; stderr: string }> {
  const a = admin();
  const r = await runDrc(['triggers', 'guard', '--config', s.configFile, '--json', ...extra, ...(withAdmin ? a.args : [])], { env: a.env });
  return { code: r.code, report: JSON.parse(r.stdout) as GuardReport, stderr: r.stderr };
}

async function doctorTriggers(s: Scenario): Promise<{ ok: boolean; checks: { ezone: string; check: string; ok: boolean; message: string }[] }> {
  const r = await runDrc(['doctor', '--config', s.configFile, '--json']);
  const doc = JSON.parse(r.stdout) as { ok: boolean; checks: { ezone: string; check: string; ok: boolean; message: string }[] };
  expect(r.code).toBe(doc.ok ? 0 : 1);
  return { ok: doc.ok, checks: doc.checks.filter((c) => c.check === 'triggers') };
}

describeWithServers('triggers skip DRC’s applier: drc triggers guard, doctor (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    for (const ez of ['a', 'b']) await s?.db[ez]!.query(`REVOKE TRIGGER ON \`${s.schema}\`.* FROM 'drc'@'%'`).catch(() => undefined);
    await s?.close();
    s = undefined;
  });

  it('unguarded triggers fire again on applied rows; after drc triggers guard both ezones are equal and local writes fire them as before', async () => {
    s = await scenario('triggers', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      await s.db[ez]!.query(`CREATE TABLE item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, stamped_at DATETIME(6) NULL, note VARCHAR(40) NULL, ${VERSION})`);
      await s.db[ez]!.query(`CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, item_id INT NOT NULL, what VARCHAR(10) NOT NULL, ${VERSION})`);
      // Each trigger on a session of its own, under the sql_mode and character sets it is to keep.
      const ddl = await mysql.createConnection({ ...infra().ezones.find((e) => e.name === ez)!.mysql, database: s.schema });
      for (const t of TRIGGERS) {
        await ddl.query(`SET NAMES ${t.names}`);
        await ddl.query('SET SESSION sql_mode = ?', [t.sqlMode]);
        await ddl.query(t.sql);
      }
      await ddl.end();
    }
    const original = { a: await triggersOf(s.db.a!, s.schema), b: await triggersOf(s.db.b!, s.schema) };
    expect(original.a.map((t) => [t.name, t.ord, t.sql_mode, t.cs, t.definer])).toEqual([
      ['item_audit', 1, 'STRICT_ALL_TABLES', 'utf8mb4', 'drc@%'],
      ['item_note', 1, 'PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION', 'utf8mb4', 'root@%'],
      ['item_note_upd', 2, 'ANSI_QUOTES', 'latin1', 'root@%'],
      ['item_stamp_ins', 2, 'NO_ENGINE_SUBSTITUTION', 'utf8mb4', 'root@%'],
      ['item_stamp_upd', 1, 'NO_ENGINE_SUBSTITUTION', 'utf8mb4', 'root@%'],
    ]);

    // doctor, as DRC's user: the bodies are hidden from it, so it cannot tell: a failure with the grant to make.
    let doctor = await doctorTriggers(s);
    expect(doctor.ok).toBe(false);
    for (const c of doctor.checks) expect(c).toMatchObject({ ok: false, message: expect.stringMatching(/cannot tell whether 5 trigger\(s\).*GRANT TRIGGER ON `t_triggers_\w+`\.\* TO `drc`@`%`/) });
    for (const ez of ['a', 'b']) await s.db[ez]!.query(`GRANT TRIGGER ON \`${s.schema}\`.* TO 'drc'@'%'`);
    doctor = await doctorTriggers(s);
    expect(doctor.checks.map((c) => [c.ezone, c.ok])).toEqual([['a', false], ['b', false]]);
    for (const c of doctor.checks) {
      expect(c.message).toMatch(/5 trigger\(s\) on replicated tables fire again on the rows DRC applies/);
      expect(c.message).toMatch(new RegExp(`${s.schema}\\.item_audit \\(AFTER INSERT on ${s.schema}\\.item\\).*drc triggers guard --config <file> --ezone ${c.ezone}`));
    }

    // Before guarding: the peer's triggers fire again on the applied row.
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query('INSERT INTO item (id, name, stamped_at) VALUES (1, ?, ?)', ['x', OLD_STAMP]);
    await eventually('b has the applied row and its own trigger’s audit row besides the shipped one', async () => (await rows(s!.db.b!, 'SELECT id FROM audit')).length === 2, 60_000);
    const [inA] = await rows(s.db.a!, 'SELECT stamped_at, note FROM item WHERE id = 1');
    const [inB] = await rows(s.db.b!, 'SELECT stamped_at, note FROM item WHERE id = 1');
    expect((await rows(s.db.a!, 'SELECT item_id FROM audit')).map((r) => r.item_id)).toEqual([1]);
    expect((await rows(s.db.b!, 'SELECT item_id FROM audit')).map((r) => r.item_id)).toEqual([1, 1]); // the duplicate
    expect(inA!.note).toBe(NOTE_OF_X);
    expect(inA!.stamped_at).not.toBe(OLD_STAMP);
    expect(inB!.stamped_at).not.toBe(inA!.stamped_at); // b's clock overwrote the shipped value: drift

    // Dry run: what would change, per trigger, and nothing written (not even re-created: CREATED is the same).
    const dry = await guard(s, ['--dry-run'], true);
    expect(dry.code).toBe(0);
    expect(dry.report).toMatchObject({ ok: true, dryRun: true, unreachable: [] });
    expect(dry.report.triggers.map((t) => [t.ezone, t.trigger.split('.')[1], t.status])).toEqual(
      ['a', 'b'].flatMap((ez) => ['item_audit', 'item_note', 'item_stamp_ins', 'item_stamp_upd', 'item_note_upd'].map((n) => [ez, n, 'would-guard'])),
    );
    expect(dry.report.triggers.find((t) => t.trigger.endsWith('.item_stamp_ins'))!.statements).toEqual([
      `CREATE OR REPLACE DEFINER=\`root\`@\`%\` TRIGGER \`${s.schema}\`.\`item_stamp_ins\` BEFORE INSERT ON \`${s.schema}\`.\`item\` FOR EACH ROW FOLLOWS \`item_note\` IF @drc_applier IS NULL THEN\nSET NEW.stamped_at = NOW(6) # stamped here\n; END IF`,
    ]);
    const text = await runDrc(['triggers', 'guard', '--config', s.configFile, '--dry-run', ...admin().args], { env: admin().env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/item_note_upd\s+.*BEFORE UPDATE\s+would-guard/);
    expect(text.stdout).toMatch(/10 trigger\(s\) on replicated tables: 10 would be guarded \(dry run: nothing written\)/);
    expect(await triggersOf(s.db.a!, s.schema)).toEqual(original.a);
    expect(await triggersOf(s.db.b!, s.schema)).toEqual(original.b);

    // As DRC's user (TRIGGER granted, no SUPER: needed with the binlog on, and for another definer):
    // every trigger fails, each named with its ezone and the fix, and stays exactly as it was.
    const weak = await guard(s, [], false);
    expect(weak.code).toBe(1);
    expect(weak.report.ok).toBe(false);
    expect(weak.report.triggers).toHaveLength(10);
    for (const t of weak.report.triggers) {
      expect(t).toMatchObject({ status: 'failed', reason: expect.stringMatching(new RegExp(`^ezone ${t.ezone}, trigger ${t.trigger}: .*SUPER.* — guarding needs the TRIGGER privilege`)) });
    }
    expect(await triggersOf(s.db.a!, s.schema)).toEqual(original.a);
    expect(await triggersOf(s.db.b!, s.schema)).toEqual(original.b);

    // With an account that may: every trigger guarded, everything but the body kept.
    const done = await guard(s, [], true);
    expect(done.code).toBe(0);
    expect(new Set(done.report.triggers.map((t) => t.status))).toEqual(new Set(['guarded']));
    for (const ez of ['a', 'b'] as const) {
      const now = await triggersOf(s.db[ez]!, s.schema);
      expect(now.map(({ created: _c, body: _b, ...rest }) => rest)).toEqual(original[ez].map(({ created: _c, body: _b, ...rest }) => rest));
      expect(now.map((t) => t.body)).toEqual(original[ez].map((t) => `IF @drc_applier IS NULL THEN\n${t.body}\n; END IF`));
    }
    const guarded = { a: await triggersOf(s.db.a!, s.schema), b: await triggersOf(s.db.b!, s.schema) };

    // Twice: nothing to do, nothing re-created.
    const again = await guard(s, [], true);
    expect(again.code).toBe(0);
    expect(new Set(again.report.triggers.map((t) => t.status))).toEqual(new Set(['already-guarded']));
    expect(await triggersOf(s.db.a!, s.schema)).toEqual(guarded.a);
    expect(await triggersOf(s.db.b!, s.schema)).toEqual(guarded.b);

    doctor = await doctorTriggers(s);
    expect(doctor.ok).toBe(true);
    for (const c of doctor.checks) expect(c).toMatchObject({ ok: true, message: "all 5 trigger(s) on replicated tables skip DRC's applier" });

    // Start over from empty tables (the drift above stays otherwise), then write in both ezones.
    await s.db.a!.query('DELETE FROM item; DELETE FROM audit');
    await s.db.b!.query('DELETE FROM item; DELETE FROM audit');
    await converge(s, 'item', ['a', 'b'], { rows: 0 });
    await converge(s, 'audit', ['a', 'b'], { rows: 0 });
    await s.db.a!.query('INSERT INTO item (id, name, stamped_at) VALUES (10, ?, ?), (11, ?, ?)', ['x', OLD_STAMP, 'plain', OLD_STAMP]);
    await s.db.b!.query('INSERT INTO item (id, name, stamped_at) VALUES (20, ?, ?), (21, ?, ?)', ['x', OLD_STAMP, 'plain', OLD_STAMP]);
    await converge(s, 'item', ['a', 'b'], { rows: 4 });
    await converge(s, 'audit', ['a', 'b'], { rows: 4 });
    await s.db.a!.query("UPDATE item SET name = 'y' WHERE id = 20");
    await s.db.b!.query("UPDATE item SET name = 'z' WHERE id = 10");
    await eventually('both updates applied in both ezones', async () => {
      const names = await Promise.all(['a', 'b'].map(async (ez) => JSON.stringify(await rows(s!.db[ez]!, 'SELECT id, name FROM item ORDER BY id'))));
      return names.every((n) => n === JSON.stringify([{ id: 10, name: 'z' }, { id: 11, name: 'plain' }, { id: 20, name: 'y' }, { id: 21, name: 'plain' }]));
    }, 60_000);
    const items = await converge(s, 'item', ['a', 'b'], { rows: 4 });
    await converge(s, 'audit', ['a', 'b'], { rows: 4 });
    expect(await checksum(s.db.a!, 'item')).toBe(await checksum(s.db.b!, 'item'));
    expect(await checksum(s.db.a!, 'audit')).toBe(await checksum(s.db.b!, 'audit'));
    // One audit row per insert, written by the origin's trigger only.
    expect((await rows(s.db.a!, 'SELECT item_id FROM audit ORDER BY item_id')).map((r) => r.item_id)).toEqual([10, 11, 20, 21]);
    // Local writes fired every trigger, the compound one as before guarding; updates fired the update triggers.
    const byId = new Map((await rows(s.db.a!, 'SELECT id, stamped_at, note FROM item')).map((r) => [Number(r.id), r]));
    for (const id of [10, 11, 20, 21]) expect(byId.get(id)!.stamped_at).not.toBe(OLD_STAMP);
    expect(byId.get(11)!.note).toBeNull(); // LEAVE note for 'plain'
    expect(byId.get(21)!.note).toBeNull();
    expect(byId.get(10)!.note).toBe('u:z');
    expect(byId.get(20)!.note).toBe('u:y');
    expect(items).toContain('"u:z"');
    await s.db.a!.query("INSERT INTO item (id, name) VALUES (12, 'x')");
    const [x] = await rows(s.db.a!, 'SELECT note FROM item WHERE id = 12');
    expect(x!.note).toBe(NOTE_OF_X);
    await converge(s, 'item', ['a', 'b'], { rows: 5 });
    await converge(s, 'audit', ['a', 'b'], { rows: 5 });
  }, 240_000);

  it('apply sessions carry @drc_applier and no other DRC session does; names needing quotes, a mysqldump-style trigger and the order survive; a table held by a transaction fails its trigger after 10 s; an unreachable ezone is exit 3, named, the others still guarded', async () => {
    s = await scenario('triggers_mark', {}, { ezones: ['a', 'b'] });
    const mark = async (apply: boolean) => {
      const pool = createPool(s!.config.ezones.a!.mysql, 1, apply ? { apply: true, multipleStatements: true } : {});
      try {
        const [[r]] = await pool.query<mysql.RowDataPacket[]>('SELECT @drc_applier AS m, @@SESSION.sql_mode AS mode');
        return { mark: r!.m === null ? null : Number(r!.m), mode: String(r!.mode) };
      } finally {
        await pool.end();
      }
    };
    expect(await mark(true)).toEqual({ mark: 1, mode: 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION' });
    expect((await mark(false)).mark).toBeNull();

    await s.db.a!.query(`CREATE TABLE item (id INT PRIMARY KEY, n INT NOT NULL DEFAULT 0, ${VERSION})`);
    await s.db.a!.query('CREATE TRIGGER item_n BEFORE INSERT ON item FOR EACH ROW SET NEW.n = NEW.n + 1');
    // Names that need quoting, two triggers in an order, one written the way mysqldump writes them (with a handler).
    await s.db.a!.query('CREATE TABLE `a.b` (id INT PRIMARY KEY, n INT NOT NULL DEFAULT 0, note VARCHAR(10) NULL)');
    await s.db.a!.query('CREATE TRIGGER `we``ird trg` BEFORE INSERT ON `a.b` FOR EACH ROW SET NEW.n = NEW.n + 1');
    await s.db.a!.query(
      "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER `first, then` BEFORE INSERT ON `a.b` FOR EACH ROW PRECEDES `we``ird trg` BEGIN\n  DECLARE CONTINUE HANDLER FOR SQLEXCEPTION SET NEW.note = 'handled';\n  SET NEW.n = NEW.n * 10;\nEND */",
    );
    // A transaction holding the table: replacing its trigger waits 10 s for the metadata lock, then
    // fails, named, and the command goes on with the others.
    const holder = await mysql.createConnection({ ...infra().ezones.find((e) => e.name === 'a')!.mysql, database: s.schema });
    await holder.query('BEGIN');
    await holder.query('INSERT INTO item (id) VALUES (99)');
    const started = Date.now();
    const blocked = await guard(s, ['--ezone', 'a'], true);
    await holder.query('ROLLBACK');
    await holder.end();
    expect(blocked.code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    expect(blocked.report.triggers.map((t) => [t.trigger, t.status])).toEqual([
      [`${s.schema}.\`first, then\``, 'guarded'],
      [`${s.schema}.\`we\`\`ird trg\``, 'guarded'],
      [`${s.schema}.item_n`, 'failed'],
    ]);
    expect(blocked.report.triggers[2]!.reason).toMatch(new RegExp(`^ezone a, trigger ${s.schema}\\.item_n: .*[Ll]ock wait timeout`));
    const file = join(mkdtempSync(join(tmpdir(), 'drc-trig-')), 'drc.yaml');
    const ezones = { ...s.config.ezones, b: { ...s.config.ezones.b!, mysql: { ...s.config.ezones.b!.mysql, port: await freePort() } } };
    writeFileSync(file, stringify({ ...s.config, ezones }));
    const a = admin();
    const r = await runDrc(['triggers', 'guard', '--config', file, '--json', ...a.args], { env: a.env });
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as GuardReport;
    expect(report.ok).toBe(false);
    expect(report.triggers.map((t) => [t.ezone, t.trigger, t.table, t.status])).toEqual([
      ['a', `${s.schema}.\`first, then\``, `${s.schema}.\`a.b\``, 'already-guarded'],
      ['a', `${s.schema}.\`we\`\`ird trg\``, `${s.schema}.\`a.b\``, 'already-guarded'],
      ['a', `${s.schema}.item_n`, `${s.schema}.item`, 'guarded'],
    ]);
    expect((await triggersOf(s.db.a!, s.schema)).map((t) => [t.name, t.ord])).toEqual([['first, then', 1], ['item_n', 1], ['we`ird trg', 2]]);
    await s.db.a!.query('INSERT INTO `a.b` (id, n) VALUES (1, 1)');
    const [[ab]] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT n, note FROM `a.b`');
    expect(ab).toEqual({ n: 11, note: null }); // (1 * 10) + 1: both fired, in their order
    expect(report.unreachable).toEqual([expect.stringMatching(/^cannot connect to ezone b's database at 127\.0\.0\.1:\d+ as root: /)]);
    expect(r.stderr).toMatch(/^drc: 1 ezone\(s\) could not be reached or read: cannot connect to ezone b/);
    expect(r.stderr).not.toContain(a.env.DRC_TEST_ADMIN_PASSWORD);
    // Bad usage is exit 2, naming what is wrong.
    const noEnv = await runDrc(['triggers', 'guard', '--config', s.configFile, '--user', 'root', '--password-env', 'DRC_TEST_NO_SUCH_VARIABLE']);
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toMatch(/--password-env DRC_TEST_NO_SUCH_VARIABLE: no such environment variable/);
    const noEzone = await runDrc(['triggers', 'guard', '--config', s.configFile, '--ezone', 'nowhere', '--dry-run']);
    expect(noEzone.code).toBe(2);
    expect(noEzone.stderr).toMatch(/nowhere/);
    // The guarded trigger still fires for local writes.
    await s.db.a!.query('INSERT INTO item (id) VALUES (1)');
    const [[row]] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT n FROM item WHERE id = 1');
    expect(row!.n).toBe(1);
    // ... and does nothing in an applier session.
    await s.db.a!.query('SET @drc_applier = 1; INSERT INTO item (id) VALUES (2); SET @drc_applier = NULL');
    const [[applied]] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT n FROM item WHERE id = 2');
    expect(applied!.n).toBe(0);
  }, 90_000);
});
