/**
 * Issue 12, "nothing stalls silently": a source transaction the target rejects for a deterministic
 * reason, inside a group of many, under `apply.onError: quarantine` — the culprit alone is set aside
 * (dead-letter topic + drc_meta.quarantine), the transactions before and after it are applied, and
 * `drc quarantine list|retry|drop` deal with it. Under `pause` the stream pauses and resumes by
 * itself once the cause is fixed.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { stringify } from 'yaml';
import { afterEach, expect, it } from 'vitest';
import type { QuarantineEntry } from '../../src/admin/quarantine.js';
import { configSchema } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/daemon/wiring.js';
import { deadLetterTopic } from '../../src/model/topics.js';
import { freePort } from '../../src/sandbox/ports.js';
import { runDrc } from '../support/cli.js';
import { describeWithServers } from '../support/env.js';
import { converge, stopDaemons } from '../support/replication.js';
import { eventually, readTopic, scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';

const log = testLogger();
const VERSIONED = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
/** A value b's narrower column cannot store (strict sql_mode): it must never appear in a log or a record's message. */
const SECRET = 'private-value-of-bob@example.com';
/** A primary-key value in scripts latin1 cannot hold: the quarantine record keeps it exactly. */
const KEY = '键🔑ß';

describeWithServers('quarantine: a transaction the target rejects is set aside whole, the stream goes on', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  /** Two ezones only, a short give-up window, the given apply policy. */
  const twoEzones = (name: string, onError: 'pause' | 'quarantine') =>
    scenario(
      name,
      { apply: { onError, groupMaxTransactions: 500 }, supervision: { initialDelay: '100ms', maxDelay: '1s', giveUpAfter: '3s', pausedRetry: '500ms' } },
      { ezones: ['a', 'b'] },
    );

  /** a's tables, and b's narrower ones (VARCHAR(5), TINYINT): some of a's values do not fit in b. */
  async function tables(sc: Scenario): Promise<void> {
    await sc.db.a!.query(`CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, ${VERSIONED})`);
    await sc.db.a!.query(`CREATE TABLE u (id INT PRIMARY KEY, v INT NOT NULL, ${VERSIONED})`);
    await sc.db.b!.query(`CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(5) NOT NULL, ${VERSIONED})`);
    await sc.db.b!.query(`CREATE TABLE u (id INT PRIMARY KEY, v TINYINT NOT NULL, ${VERSIONED})`);
    for (const ez of ['a', 'b']) await sc.db[ez]!.query(`CREATE TABLE k (name VARCHAR(20) CHARACTER SET utf8mb4 PRIMARY KEY, ${VERSIONED})`);
  }

  /** Ten transactions in a; the fifth writes u and a name b cannot store. Returns once capture shipped them. */
  async function backlog(sc: Scenario, daemonA: Daemon): Promise<void> {
    const before = daemonA.capture.stats.transactions;
    for (let i = 1; i <= 10; i++) {
      if (i === 5) {
        await sc.db.a!.query('BEGIN');
        await sc.db.a!.query('INSERT INTO u (id, v) VALUES (1, 100)');
        await sc.db.a!.query('INSERT INTO k (name) VALUES (?)', [KEY]);
        await sc.db.a!.query('INSERT INTO t (id, name) VALUES (5, ?)', [SECRET]);
        await sc.db.a!.query('COMMIT');
      } else {
        await sc.db.a!.query('INSERT INTO t (id, name) VALUES (?, ?)', [i, `n${i}`]);
      }
    }
    await eventually('a shipped the backlog', () => daemonA.capture.stats.transactions >= before + 10 && daemonA.capture.stats.committedPosition !== '', 30_000);
  }

  const checksum = async (sc: Scenario, ezone: string, table: string) => {
    const [[row]] = await sc.db[ezone]!.query<RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
    return String(row!.Checksum);
  };
  const ids = async (sc: Scenario, ezone: string, table: string) => {
    const [rows] = await sc.db[ezone]!.query<RowDataPacket[]>(`SELECT id FROM ${table} ORDER BY id`);
    return rows.map((r) => Number(r.id));
  };
  const mine = (sc: Scenario, entries: QuarantineEntry[]) => entries.filter((e) => e.tables.some((t) => t.startsWith(`${sc.schema}.`)));
  const list = async (sc: Scenario) => {
    const r = await runDrc(['quarantine', 'list', '--config', sc.configFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return mine(sc, (JSON.parse(r.stdout) as { quarantined: QuarantineEntry[] }).quarantined);
  };

  it('quarantines only the culprit of a group, applies the others in order, and retry applies it once the column is widened', async () => {
    s = await twoEzones('quarantine', 'quarantine');
    await tables(s);
    const a = await startDaemon(s.config, 'a', log.child({ ezone: 'a' }));
    daemons.push(a);
    await backlog(s, a);
    // b starts on a backlog: the ten transactions arrive together and are grouped.
    const b = await startDaemon(s.config, 'b', log.child({ ezone: 'b' }));
    daemons.push(b);
    const applier = b.appliers.get('a')!;
    await eventually('the innocent transactions applied in b', async () => (await ids(s!, 'b', 't')).length === 9, 60_000);
    expect(await ids(s, 'b', 't')).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    expect(await ids(s, 'b', 'u')).toEqual([]); // the whole source transaction was set aside, u's and k's rows too
    const [kRows] = await s.db.b!.query<RowDataPacket[]>('SELECT name FROM k');
    expect(kRows).toEqual([]);
    expect(applier.stats.quarantined).toBe(1);
    expect(applier.state.status).toBe('running');

    // The record, with the applied position moved past it.
    const [records] = await s.db.b!.query<RowDataPacket[]>(
      'SELECT id, origin, kafka_offset, tables_json, keys_json, error_code, error_message, state, message FROM drc_meta.quarantine WHERE tables_json LIKE ? ORDER BY id',
      [`%${s.schema}.%`],
    );
    expect(records).toHaveLength(1);
    const rec = records[0]!;
    expect(rec).toMatchObject({ origin: 'a', error_code: 'DRC_VALUE_REJECTED', state: 'quarantined' });
    expect(JSON.parse(String(rec.tables_json))).toEqual([`${s.schema}.u`, `${s.schema}.k`, `${s.schema}.t`]);
    expect(JSON.parse(String(rec.keys_json))).toEqual([
      { table: `${s.schema}.u`, key: { id: 1 } },
      { table: `${s.schema}.k`, key: { name: KEY } },
      { table: `${s.schema}.t`, key: { id: 5 } },
    ]);
    expect(String(rec.error_message)).not.toContain(SECRET);
    expect(String(rec.message)).toContain(SECRET); // the images, for retry
    const [[pos]] = await s.db.b!.query<RowDataPacket[]>("SELECT next_offset FROM drc_meta.apply_position WHERE origin = 'a'");
    expect(BigInt(pos!.next_offset)).toBeGreaterThan(BigInt(rec.kafka_offset));
    // And its message on b's dead-letter topic.
    const dead = await readTopic(s.kafka, deadLetterTopic(s.prefix, 'b'), (m) => m.length >= 1, 30_000);
    expect(dead[0]!.value.toString()).toContain(SECRET);

    // Later transactions keep flowing.
    await s.db.a!.query("INSERT INTO t (id, name) VALUES (11, 'n11')");
    await eventually('a later transaction applied', async () => (await ids(s!, 'b', 't')).includes(11), 30_000);

    const listed = await list(s);
    expect(listed).toHaveLength(1);
    const entry = listed[0]!;
    expect(entry).toMatchObject({ id: Number(rec.id), ezone: 'b', origin: 'a', code: 'DRC_VALUE_REJECTED', state: 'quarantined', changes: 3, tables: [`${s.schema}.u`, `${s.schema}.k`, `${s.schema}.t`] });
    expect(entry.txId).toBeTruthy();
    expect(entry.position).toBeTruthy();
    const human = await runDrc(['quarantine', 'list', '--config', s.configFile, '--ezone', 'b']);
    expect(human.stdout).toMatch(new RegExp(`^id\\s+ezone\\s+origin`, 'm'));

    // Retry before the cause is fixed: fails again, exit 1, the redacted reason.
    const early = await runDrc(['quarantine', 'retry', '--config', s.configFile, '--ezone', 'b', '--id', String(entry.id)]);
    expect(early.code, early.stderr).toBe(1);
    expect(early.stderr).toContain('DRC_VALUE_REJECTED');
    expect(early.stderr).not.toContain(SECRET);

    // The operator widens b's column: retry applies the whole transaction; the ezones are identical.
    await s.db.b!.query('ALTER TABLE t MODIFY name VARCHAR(50) NOT NULL');
    const retried = await runDrc(['quarantine', 'retry', '--config', s.configFile, '--ezone', 'b', '--id', String(entry.id), '--json']);
    expect(retried.code, retried.stderr).toBe(0);
    expect((JSON.parse(retried.stdout) as { quarantined: QuarantineEntry[] }).quarantined[0]).toMatchObject({ id: entry.id, state: 'applied' });
    await converge(s, 't', ['a', 'b'], { rows: 11, timeoutMs: 30_000 });
    await converge(s, 'u', ['a', 'b'], { rows: 1, timeoutMs: 30_000 });
    await converge(s, 'k', ['a', 'b'], { rows: 1, timeoutMs: 30_000 });
    expect(await checksum(s, 'b', 't')).toBe(await checksum(s, 'a', 't'));
    expect(await checksum(s, 'b', 'k')).toBe(await checksum(s, 'a', 'k'));
    // u differs in column type (TINYINT here), so CHECKSUM TABLE cannot compare it: its bytes per column can.
    const hexU = "SELECT HEX(id) AS id, HEX(v) AS v, HEX(updated_at) AS at FROM u ORDER BY id";
    expect((await s.db.b!.query<RowDataPacket[]>(hexU))[0]).toEqual((await s.db.a!.query<RowDataPacket[]>(hexU))[0]);
    const [[hex]] = await s.db.b!.query<RowDataPacket[]>('SELECT HEX(name) AS h FROM t WHERE id = 5');
    expect(hex!.h).toBe(Buffer.from(SECRET).toString('hex').toUpperCase());
    // Retried through the apply path: marker first, so capture in b did not ship it back to a as b's.
    expect(b.capture.stats.transactions).toBeGreaterThan(0);
    const again = await runDrc(['quarantine', 'retry', '--config', s.configFile, '--ezone', 'b', '--id', String(entry.id)]);
    expect(again.code).toBe(2); // already applied

    // A second culprit (1000 does not fit b's TINYINT): dropped, recorded; the key stays different.
    await s.db.a!.query('INSERT INTO u (id, v) VALUES (2, 1000)');
    await s.db.a!.query('INSERT INTO u (id, v) VALUES (3, 7)');
    await eventually('the next culprit quarantined', async () => (await list(s!)).some((e) => e.state === 'quarantined'), 30_000);
    await eventually('the transaction after it applied', async () => (await ids(s!, 'b', 'u')).includes(3), 30_000);
    const second = (await list(s)).find((e) => e.state === 'quarantined')!;
    expect(second).toMatchObject({ code: 'DRC_VALUE_REJECTED', tables: [`${s.schema}.u`] });
    const dropped = await runDrc(['quarantine', 'drop', '--config', s.configFile, '--id', String(second.id), '--json']);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect((JSON.parse(dropped.stdout) as { quarantined: QuarantineEntry[] }).quarantined[0]).toMatchObject({ id: second.id, state: 'dropped', resolution: 'dropped by the operator' });
    expect((await list(s)).map((e) => e.state).sort()).toEqual(['applied', 'dropped']);
    expect(await ids(s, 'b', 'u')).toEqual([1, 3]);
    expect(applier.stats.quarantined).toBe(2);
    const usage = await runDrc(['quarantine', 'retry', '--config', s.configFile]);
    expect(usage.code).toBe(2); // --id missing
  }, 240_000);

  it('a later change of the same key applies while its predecessor is quarantined; the retry then loses to it under last-writer-wins (no newer data overwritten)', async () => {
    s = await twoEzones('qorder', 'quarantine');
    await tables(s);
    daemons.push(await startDaemon(s.config, 'a', log.child({ ezone: 'a' })), await startDaemon(s.config, 'b', log.child({ ezone: 'b' })));
    await s.db.a!.query('INSERT INTO t (id, name) VALUES (7, ?)', [SECRET]); // b cannot store it: quarantined
    await s.db.a!.query("UPDATE t SET name = 'later' WHERE id = 7"); // the same key, later, from the same origin
    await eventually('the later change applied in b', async () => {
      const [rows] = await s!.db.b!.query<RowDataPacket[]>('SELECT name FROM t WHERE id = 7');
      return rows[0]?.name === 'later';
    }, 30_000);
    const entry = (await list(s)).find((e) => e.state === 'quarantined')!;
    expect(entry.tables).toEqual([`${s.schema}.t`]);
    await s.db.b!.query('ALTER TABLE t MODIFY name VARCHAR(50) NOT NULL');
    const r = await runDrc(['quarantine', 'retry', '--config', s.configFile, '--ezone', 'b', '--id', String(entry.id)]);
    expect(r.code, r.stderr).toBe(0);
    await converge(s, 't', ['a', 'b'], { rows: 1, timeoutMs: 30_000 });
    expect(await checksum(s, 'b', 't')).toBe(await checksum(s, 'a', 't'));
    const [conflicts] = await s.db.b!.query<RowDataPacket[]>("SELECT decision FROM drc_meta.conflicts WHERE schema_name = ? AND table_name = 't' AND origin = 'a'", [s.schema]);
    expect(conflicts.map((c) => c.decision)).toContain('skipped'); // the older image lost, recorded
  }, 120_000);

  it('drc quarantine list exits 3 naming an ezone whose database cannot be reached, and still lists the others', async () => {
    s = await twoEzones('qunreach', 'quarantine');
    const port = await freePort(); // nothing listens there
    const config = configSchema.parse({ ...s.config, ezones: { ...s.config.ezones, b: { ...s.config.ezones.b!, mysql: { ...s.config.ezones.b!.mysql, port } } } });
    const file = join(dirname(s.configFile), 'unreachable.yaml');
    writeFileSync(file, stringify(config));
    const r = await runDrc(['quarantine', 'list', '--config', file, '--json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot connect to ezone b's database at 127.0.0.1:${port}`);
    expect(JSON.parse(r.stdout)).toMatchObject({ quarantined: expect.any(Array) }); // what ezone a holds
    const retry = await runDrc(['quarantine', 'retry', '--config', file, '--ezone', 'b', '--id', '1']);
    expect(retry.code).toBe(3);
  }, 60_000);

  it('under apply.onError: pause, the stream pauses on the culprit (nothing after it applies) and resumes once the column is widened', async () => {
    s = await twoEzones('qpause', 'pause');
    await tables(s);
    const a = await startDaemon(s.config, 'a', log.child({ ezone: 'a' }));
    daemons.push(a);
    await backlog(s, a);
    const b = await startDaemon(s.config, 'b', log.child({ ezone: 'b' }));
    daemons.push(b);
    const applier = b.appliers.get('a')!;
    await eventually('apply from a paused', () => applier.state.status === 'paused', 30_000);
    expect(applier.state.lastError).toMatchObject({ code: 'DRC_VALUE_REJECTED' });
    expect(applier.state.lastError!.message).not.toContain(SECRET);
    expect((await ids(s, 'b', 't')).filter((id) => id > 5)).toEqual([]); // order kept: nothing after the culprit
    expect(applier.stats.quarantined).toBe(0);
    const [records] = await s.db.b!.query<RowDataPacket[]>('SELECT id FROM drc_meta.quarantine WHERE tables_json LIKE ?', [`%${s.schema}.%`]);
    expect(records).toEqual([]);

    await s.db.b!.query('ALTER TABLE t MODIFY name VARCHAR(50) NOT NULL');
    await converge(s, 't', ['a', 'b'], { rows: 10, timeoutMs: 30_000 });
    await converge(s, 'u', ['a', 'b'], { rows: 1, timeoutMs: 30_000 });
    expect(await checksum(s, 'b', 't')).toBe(await checksum(s, 'a', 't'));
    await eventually('apply from a running again', () => applier.state.status === 'running', 30_000);
  }, 120_000);
});
