/**
 * Issue 15, log redaction proof: duplicate-key, foreign-key and data-too-long errors driven through
 * apply (b's tables are stricter than a's), with the daemons at debug level; no row value and no
 * password appears anywhere in either daemon's output, nor in /healthz and /metrics.
 *
 * The server itself must raise them (errno 1062, 1452, 1406), not only DRC's own decisions: DRC reads a
 * target table's unique and foreign keys and would resolve the duplicate as a unique-key conflict and
 * hold the orphan back before writing. So b's unique key and foreign key are added once the applier
 * has read those tables (its cache knows none): its first writes of the offending rows reach the server.
 * MariaDB's SQL error log (plugin sql_errlog, on the local servers) proves that they did.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers, infra } from '../support/env.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

const VERSIONED = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';

describeWithServers('log redaction: apply errors never carry row values or passwords into the output', () => {
  let s: Scenario | undefined;
  const processes: DaemonProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) if (p.child.exitCode === null) await p.kill('SIGTERM');
    for (const c of cleanups.splice(0)) await c();
    await s?.close();
    s = undefined;
  });

  it('duplicate key, foreign key and data too long in apply: values and passwords stay out of logs, /healthz and /metrics', async () => {
    s = await scenario(
      'redaction',
      { apply: { onError: 'quarantine' }, supervision: { initialDelay: '100ms', maxDelay: '1s', giveUpAfter: '3s', pausedRetry: '500ms' } },
      { ezones: ['a', 'b'] },
    );
    const tag = randomBytes(4).toString('hex');
    const secret = {
      dup: `dup-value-${tag}@example.com`,
      long: `too-long-value-${tag}-${'x'.repeat(30)}`,
      fk: `fk-parent-${tag}`, // also written in b by the test: it appears in no output all the same
      fkChild: `fk-child-note-${tag}`,
      plain: `ordinary-value-${tag}`,
    };
    // a accepts everything; b has a narrow note, and gets a unique email and a foreign key a lacks (below).
    await s.db.a!.query(`CREATE TABLE person (id INT PRIMARY KEY, email VARCHAR(80) NOT NULL, note VARCHAR(80) NOT NULL, ${VERSIONED})`);
    await s.db.b!.query(`CREATE TABLE person (id INT PRIMARY KEY, email VARCHAR(80) NOT NULL, note VARCHAR(8) NOT NULL, ${VERSIONED})`);
    for (const ez of ['a', 'b']) await s.db[ez]!.query(`CREATE TABLE parent (code VARCHAR(40) PRIMARY KEY, ${VERSIONED})`);
    for (const ez of ['a', 'b']) await s.db[ez]!.query(`CREATE TABLE child (id INT PRIMARY KEY, parent_code VARCHAR(40) NOT NULL, note VARCHAR(80) NOT NULL, ${VERSIONED})`);
    for (const ez of ['a', 'b']) {
      const p = await DaemonProcess.start(['run', '--config', s.configFile, '--ezone', ez]);
      processes.push(p);
      await p.waitActive(60_000);
    }
    const serverErrors = await serverErrorLog(s.db.b!);
    if (serverErrors) cleanups.push(serverErrors.close);
    const a = s.db.a!;
    // b's applier reads the three tables (its cache: no unique key, no foreign key), then b gets them.
    await a.query("INSERT INTO parent (code) VALUES ('warm-up')");
    await a.query("INSERT INTO person (id, email, note) VALUES (100, 'warm-up', 'ok')");
    await a.query("INSERT INTO child (id, parent_code, note) VALUES (100, 'warm-up', 'ok')");
    const countB = async (sql: string, params: unknown[] = []) => Number((await s!.db.b!.query<RowDataPacket[]>(sql, params))[0][0]!.n);
    const warmedUp = async () =>
      (await countB("SELECT COUNT(*) AS n FROM parent WHERE code = 'warm-up'")) === 1 &&
      (await countB('SELECT COUNT(*) AS n FROM person WHERE id = 100')) === 1 &&
      (await countB('SELECT COUNT(*) AS n FROM child WHERE id = 100')) === 1;
    await eventually('b applied the warm-up rows', warmedUp, 60_000);
    await s.db.b!.query('ALTER TABLE person ADD UNIQUE KEY uq_email (email)');
    await s.db.b!.query('ALTER TABLE child ADD CONSTRAINT fk_parent FOREIGN KEY (parent_code) REFERENCES parent (code)');
    await a.query('INSERT INTO person (id, email, note) VALUES (1, ?, ?)', [secret.dup, 'ok']);
    await a.query('INSERT INTO person (id, email, note) VALUES (2, ?, ?)', [secret.dup, 'ok']); // duplicate email in b
    await a.query('INSERT INTO person (id, email, note) VALUES (3, ?, ?)', [`x-${tag}`, secret.long]); // too long in b
    await a.query('INSERT INTO child (id, parent_code, note) VALUES (1, ?, ?)', [secret.fk, secret.fkChild]); // no parent in b
    await a.query('INSERT INTO person (id, email, note) VALUES (4, ?, ?)', [secret.plain, 'last']);

    // The orphan child waits for its parent (DRC retries, then reports the stream paused on /healthz);
    // health problems are an output too, checked below. The parent, written in b, lets it through.
    const count = countB;
    const b = processes[1]!;
    await eventually('b reports the stream from a paused on the missing parent', async () => (await b.health()).problems.length > 0, 60_000);
    const pausedHealth = JSON.stringify(await b.health());
    await s.db.b!.query('INSERT INTO parent (code) VALUES (?)', [secret.fk]);
    await eventually('b applied the last row', async () => (await count('SELECT COUNT(*) AS n FROM person WHERE id = 4')) === 1, 90_000);
    const quarantined = await count('SELECT COUNT(*) AS n FROM drc_meta.quarantine WHERE tables_json LIKE ?', [`%${s.schema}.%`]);
    const conflicts = await count('SELECT COUNT(*) AS n FROM drc_meta.conflicts WHERE schema_name = ?', [s.schema]);
    expect(quarantined + conflicts).toBeGreaterThanOrEqual(2);
    expect(await count('SELECT COUNT(*) AS n FROM person WHERE id = 3')).toBe(0); // the too-long row was not stored
    expect(await count('SELECT COUNT(*) AS n FROM child WHERE id = 1')).toBe(1); // the orphan, once its parent came

    const surfaces = [
      ...processes.map((p) => p.log),
      pausedHealth,
      JSON.stringify(await b.health()),
      await b.metrics(),
    ];
    // The errors were there to be logged: the output is not silent about them.
    expect(processes.map((p) => p.log).join('\n')).toMatch(/DRC_VALUE_REJECTED|Data too long|foreign key|quarantin/i);
    // b's server refused DRC's own writes: duplicate key, no parent row, too long (its log quotes the values; DRC's output does not).
    if (serverErrors) {
      const refused = (await serverErrors.read()).split('\n').filter((l) => l.includes(s!.schema) && l.includes(` ${s!.config.ezones.b!.mysql.user}[`));
      for (const errno of [1062, 1452, 1406]) expect(refused.some((l) => l.includes(`ERROR ${errno}:`)), `b's server raised ${errno} to DRC:\n${refused.map((l) => l.slice(0, 60)).join('\n')}`).toBe(true);
    }
    const passwords = [s.config.ezones.a!.mysql.password, infra().ezones[0]!.mysql.password].filter((p) => p.length > 0);
    expect(passwords.length).toBeGreaterThan(0);
    for (const text of surfaces) {
      for (const value of [...Object.values(secret), ...passwords]) expect(text, `output contains ${value}`).not.toContain(value);
    }
  }, 180_000);
});

/**
 * The errors b's server raised from now on, from MariaDB's SQL error log plugin (every failed statement,
 * with its text, in the server's datadir): undefined where it is not available (MySQL, containers).
 */
async function serverErrorLog(db: Connection): Promise<{ read(): Promise<string>; close(): Promise<void> } | undefined> {
  if (infra().mode !== 'local' || infra().flavor !== 'mariadb') return undefined;
  const installed = await db.query("INSTALL SONAME 'sql_errlog'").then(
    () => true,
    (err: { errno?: number }) => {
      if (err.errno === 1968) return false; // already installed
      throw err as Error;
    },
  );
  const [[row]] = await db.query<RowDataPacket[]>('SELECT @@datadir AS dir, @@sql_error_log_filename AS file');
  const file = join(String(row!.dir), String(row!.file));
  const from = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  return {
    read: async () => readFileSync(file).subarray(from).toString('utf8'),
    close: async () => {
      if (installed) await db.query("UNINSTALL SONAME 'sql_errlog'");
    },
  };
}
