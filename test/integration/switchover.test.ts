/**
 * Moving shards between ezones (issue 17): versioned routing in drc_meta, the guard triggers and the
 * TypeScript guard, `drc switchover` under load, killed at every step, refused when concurrent, rolled
 * back on timeout. Two ezones, an orders table sharded by user_id over 16 shards: 0-7 move, 8-15 stay
 * with b.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { RoutingReport } from '../../src/admin/routing.js';
import { switchover, type RoutingEvent } from '../../src/admin/switchover.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import { ensureMetaSchema } from '../../src/db/meta-schema.js';
import { scopeOf, seedRouting } from '../../src/db/routing-store.js';
import { RoutingGuard } from '../../src/guard/routing-guard.js';
import { shardOf } from '../../src/model/ownership.js';
import { changesTopic, routingTopic } from '../../src/model/topics.js';
import { DRC_BIN, runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { describeWithServers, infra } from '../support/env.js';
import { reconfigure } from '../support/reconfigure.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, eventually, readTopic, scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';
import { sleep, waitFor } from '../support/wait.js';

const SHARDS = 16;
const log = testLogger();

/** Users whose shard moves (0-7) and users whose shard stays with b (8-15). */
const users = (() => {
  const moving: number[] = [];
  const staying: number[] = [];
  for (let u = 1; moving.length < 200 || staying.length < 200; u++) (shardOf(u, SHARDS) <= 7 ? moving : staying).push(u);
  return { moving, staying };
})();

async function setUp(name: string, ezones: string[] = ['a', 'b']): Promise<Scenario> {
  const s = await scenario(name, {}, { ezones });
  reconfigure(s, (c) => ({
    ...c,
    ownership: { policy: 'report', shardCount: SHARDS, routing: [{ shards: '0-7', ezone: 'a' }, { shards: '8-15', ezone: 'b' }], tables: { [`${s.schema}.orders`]: { function: 'hash', column: 'user_id' } } },
  }));
  for (const ez of ezones) {
    await s.db[ez]!.query('CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id INT NOT NULL, amount INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
  }
  return s;
}

const admin = () => infra().ezones[0]!.mysql;
const asAdmin = () => ['--user', admin().user, '--password-env', 'DRC_TEST_ADMIN_PASSWORD'];
const adminEnv = () => ({ DRC_TEST_ADMIN_PASSWORD: admin().password });

async function routing(s: Scenario): Promise<RoutingReport> {
  const r = await runDrc(['routing', '--config', s.configFile, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RoutingReport;
}

/** Owners of the moving shards in every ezone, once every ezone has applied the same version. */
async function settledOwner(s: Scenario): Promise<string> {
  const report = await waitFor(() => routing(s), { what: 'the same routing version in every ezone', until: (r) => r.consistent, timeoutMs: 30_000, intervalMs: 200 });
  const owners = report.ezones.map((e) => e.owners.find((o) => o.shards.startsWith('0-'))?.owner);
  expect(new Set(owners).size).toBe(1);
  for (const e of report.ezones) expect(e.bans).toEqual([]);
  return owners[0]!;
}

/** Every ezone has applied a recent heartbeat of every other (the switchover's lag precheck). */
async function replicating(s: Scenario, ezones: string[] = ['a', 'b']): Promise<void> {
  for (const [dest, origin] of ezones.flatMap((d) => ezones.filter((o) => o !== d).map((o) => [d, o] as const))) {
    await eventually(`${dest} applying ${origin}'s heartbeats`, async () => {
      const [rows] = await s.db[dest]!.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM drc_meta.lag WHERE origin = ? AND sent_at > UTC_TIMESTAMP(6) - INTERVAL 3 SECOND', [origin]);
      return Number(rows[0]!.n) === 1;
    });
  }
}

describeWithServers('moving shards: versioned routing, guards, drc switchover', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  const processes: DaemonProcess[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) if (p.child.exitCode === null) await p.kill();
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('seeds and replicates the routing, shows it, and guards writes: wrong ezone refused, DRC’s applier passes', async () => {
    s = await setUp('routing');
    const install = await runDrc(['guard', 'install', '--config', s.configFile, ...asAdmin(), '--json'], { env: adminEnv() });
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect((JSON.parse(install.stdout) as { tables: { status: string }[] }).tables.map((t) => t.status)).toEqual(['installed', 'installed']);
    daemons.push(...(await startDaemons(s, ['a', 'b'])));

    const report = await routing(s);
    expect(report.consistent).toBe(true);
    for (const e of report.ezones) {
      expect(e.version).toBe(1);
      expect(e.owners.map((o) => [o.shards, o.owner, o.state])).toEqual([['0-7', 'a', 'owned'], ['8-15', 'b', 'owned']]);
      expect(e.drift).toEqual([]);
    }
    const human = await runDrc(['routing', '--config', s.configFile]);
    expect(human.stdout).toMatch(/ezone\s+version\s+shards\s+owner\s+state/);

    const [mine, theirs] = [users.moving[0]!, users.staying[0]!];
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (1, ?, 10)', [mine]);
    const refused = await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (2, ?, 10)', [theirs]).then(
      () => undefined,
      (err: { sqlState?: string; message: string }) => err,
    );
    expect(refused?.sqlState).toBe('45000');
    expect(refused?.message).toBe(`DRC guard: ${s.schema}.orders shard ${shardOf(theirs, SHARDS)} is owned by b, not writable in a`);
    // An update moving a row to another ezone's shard is refused too.
    await expect(s.db.a!.query('UPDATE orders SET user_id = ? WHERE id = 1', [theirs])).rejects.toMatchObject({ sqlState: '45000' });
    // DRC's applier session passes (rolled back: it would otherwise be a real wrong write).
    const applier = await connectEzone('a', s.schema);
    await applier.query('SET @drc_applier = 1');
    await applier.query('BEGIN');
    await applier.query('INSERT INTO orders (id, user_id, amount) VALUES (3, ?, 10)', [theirs]);
    await applier.query('ROLLBACK');
    await applier.end();
    await converge(s, 'orders', ['a', 'b'], { rows: 1 });

    const guard = await RoutingGuard.open({ pool: s.db.a!, ezone: 'a', topology: s.prefix, ownership: s.config.ownership, refreshMs: 0 });
    expect(guard.check(`${s.schema}.orders`, { user_id: mine })).toEqual({ writable: true, owner: 'a', banned: false, shard: shardOf(mine, SHARDS), version: 1 });
    expect(guard.check(`${s.schema}.orders`, { user_id: theirs })).toMatchObject({ writable: false, owner: 'b', banned: false });
    expect(guard.checkKey(theirs)).toMatchObject({ writable: false, owner: 'b' });

    const remove = await runDrc(['guard', 'remove', '--config', s.configFile, '--ezone', 'a', ...asAdmin(), '--json'], { env: adminEnv() });
    expect(remove.code, remove.stderr).toBe(0);
    expect(daemons.map((d) => d.capture.stats.wrongWrites)).toEqual([0, 0]);
    // Unguarded, the wrong write goes through: a's capture counts it, b records the violation.
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (2, ?, 10)', [theirs]);
    await eventually('the violation recorded in b', async () => (await conflictsIn(s!, 'b')).some((c) => c.reason === 'ownership' && c.origin === 'a'));
    expect(daemons[0]!.capture.stats.wrongWrites).toBe(1);

    // The README's planned switchover, human output.
    await replicating(s);
    const moved = await runDrc(['switchover', '--config', s.configFile, '--shards', '0-7', '--to', 'b', '--timeout', '30s']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/step\s+ms\n.*ban /s);
    expect(moved.stdout).toMatch(/switchover so-\S+ of shards 0-7 from a to b: done/);
    expect(await settledOwner(s)).toBe('b');
  }, 120_000);

  it('three ezones: the new owner writing right after the flip is no violation anywhere; the old owner writing after the move is one in both peers', async () => {
    s = await setUp('switch3', ['a', 'b', 'c']);
    daemons.push(...(await startDaemons(s, ['a', 'b', 'c'])));
    await replicating(s, ['a', 'b', 'c']);
    const result = await switchover(s.config, { shards: { from: 0, to: 7 }, to: 'b', timeoutMs: 30_000, resume: false, log });
    expect(result.state, JSON.stringify(result)).toBe('done');
    // b writes from its flip on: these reach c right behind the flip (c's own copy of the routing may
    // not have caught up yet; b's capture judged them in binlog order and said so).
    for (let i = 0; i < 30; i++) await s.db.b!.query('INSERT INTO orders (id, user_id, amount) VALUES (?, ?, 1)', [100 + i, users.moving[i]!]);
    await converge(s, 'orders', ['a', 'b', 'c'], { rows: 30 });
    expect(await settledOwner(s)).toBe('b');
    // a (no guard installed) writes a moved shard after the move: b and c record it, a's capture counts it.
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (1, ?, 1)', [users.moving[0]!]);
    for (const ez of ['b', 'c']) {
      await eventually(`the old owner's write recorded in ${ez}`, async () => (await conflictsIn(s!, ez)).some((c) => c.reason === 'ownership' && c.origin === 'a'));
    }
    for (const ez of ['a', 'b', 'c']) expect((await conflictsIn(s, ez)).filter((c) => c.reason === 'ownership' && c.origin !== 'a')).toEqual([]);
    expect(daemons.map((d) => d.capture.stats.wrongWrites)).toEqual([1, 0, 0]);
  }, 120_000);

  it('the ban waits for a write in flight a second at a time (later writes of its shard are not held for the whole timeout); a ban that never gets through leaves the routing as it was', async () => {
    s = await setUp('switchlocks');
    const install = await runDrc(['guard', 'install', '--config', s.configFile, ...asAdmin()], { env: adminEnv() });
    expect(install.code, install.stdout + install.stderr).toBe(0);
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await replicating(s);
    const before = (await routing(s)).ezones.map((e) => e.version);
    const user = users.moving[0]!;
    // A write in flight: its guard holds the shard's routing row (shared) until it commits.
    const holder = await connectEzone('a', s.schema);
    const later = await connectEzone('a', s.schema);
    try {
      await holder.query('BEGIN');
      await holder.query('INSERT INTO orders (id, user_id, amount) VALUES (1, ?, 1)', [user]);
      const run = switchover(s.config, { shards: { from: 0, to: 7 }, to: 'b', timeoutMs: 5_000, resume: false, log });
      await eventually('the ban waiting for the write in flight', async () => {
        const [rows] = await s!.db.a!.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'");
        return Number(rows[0]!.n) > 0;
      });
      const t0 = Date.now();
      await later.query('INSERT INTO orders (id, user_id, amount) VALUES (2, ?, 1)', [user]);
      const heldMs = Date.now() - t0;
      const result = await run;
      expect(result.state, JSON.stringify(result)).toBe('rolled-back');
      expect(result.reason).toMatch(/the ban waited for writes in flight on the shards in a past the timeout/);
      expect(heldMs).toBeLessThan(2_500);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await later.end();
    }
    expect((await routing(s)).ezones.map((e) => e.version)).toEqual(before);
    expect(await settledOwner(s)).toBe('a');
  }, 60_000);

  it('a quarantined transaction of the old owner in the new owner rolls the switchover back before the flip, naming it', async () => {
    s = await setUp('switchquar');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await replicating(s);
    // As the applier of b records a transaction of a it could not apply (apply.onError: quarantine).
    const [res] = await s.db.b!.query<mysql.ResultSetHeader>(
      "INSERT INTO drc_meta.quarantine (origin, origin_tx, origin_pos, kafka_topic, kafka_partition, kafka_offset, tables_json, keys_json, error_code, error_message, message, quarantined_at) VALUES ('a', '0-1-1', '0-1-1', ?, 0, 0, '[]', '[]', 'DRC_VALUE_REJECTED', 'test', '', UTC_TIMESTAMP(6))",
      [changesTopic(s.prefix, 'a')],
    );
    const result = await switchover(s.config, { shards: { from: 0, to: 7 }, to: 'b', timeoutMs: 30_000, resume: false, log });
    expect(result.state, JSON.stringify(result)).toBe('rolled-back');
    expect(result.reason).toBe(
      `ezone b holds quarantined transactions of a (id ${res.insertId}): retry or drop them first (drc quarantine list --config <file> --ezone b, then drc quarantine retry|drop), then run the switchover again`,
    );
    expect(await settledOwner(s)).toBe('a');
    await s.db.b!.query("UPDATE drc_meta.quarantine SET state = 'dropped' WHERE id = ?", [res.insertId]);
    expect((await switchover(s.config, { shards: { from: 0, to: 7 }, to: 'b', timeoutMs: 30_000, resume: false, log })).state).toBe('done');
    expect(await settledOwner(s)).toBe('b');
  }, 60_000);

  it('drc quarantine retry after a switchover judges an old message (no verdict of its origin) by the routing in force, not the config', async () => {
    s = await setUp('switchretry');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await replicating(s);
    expect((await switchover(s.config, { shards: { from: 0, to: 7 }, to: 'b', timeoutMs: 30_000, resume: false, log })).state).toBe('done');
    expect(await settledOwner(s)).toBe('b');
    await s.db.b!.query('INSERT INTO orders (id, user_id, amount) VALUES (1, ?, 1)', [users.moving[0]!]);
    await converge(s, 'orders', ['a', 'b'], { rows: 1 });
    // b's transaction as a build before the verdict shipped it (no rv), quarantined in a.
    const [shipped] = await readTopic(s.kafka, changesTopic(s.prefix, 'b'), (ms) => ms.some((m) => m.value.toString().includes('"table":"orders"')), 30_000).then((ms) => ms.filter((m) => m.value.toString().includes('"table":"orders"')));
    const chunk = JSON.parse(shipped!.value.toString()) as { changes: { rv?: number }[] };
    expect(chunk.changes[0]!.rv).toBeGreaterThan(1);
    for (const c of chunk.changes) delete c.rv;
    const [res] = await s.db.a!.query<mysql.ResultSetHeader>(
      "INSERT INTO drc_meta.quarantine (origin, origin_tx, origin_pos, kafka_topic, kafka_partition, kafka_offset, tables_json, keys_json, error_code, error_message, message, quarantined_at) VALUES ('b', 'x', 'x', ?, 0, ?, ?, '[]', 'DRC_VALUE_REJECTED', 'test', ?, UTC_TIMESTAMP(6))",
      [changesTopic(s.prefix, 'b'), Number(shipped!.offset), JSON.stringify([`${s.schema}.orders`]), JSON.stringify(chunk)],
    );
    const retried = await runDrc(['quarantine', 'retry', '--config', s.configFile, '--ezone', 'a', '--id', String(res.insertId), '--json']);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    expect((await conflictsIn(s, 'a')).filter((c) => c.reason === 'ownership')).toEqual([]);
  }, 60_000);

  it('a restored ezone (empty drc_meta.routing) copies the routing from a peer, not version 1 from the config', async () => {
    s = await setUp('switchrestore');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await replicating(s);
    expect((await switchover(s.config, { shards: { from: 0, to: 7 }, to: 'b', timeoutMs: 30_000, resume: false, log })).state).toBe('done');
    expect(await settledOwner(s)).toBe('b');
    const version = (await routing(s)).ezones[0]!.version;
    expect(version).toBeGreaterThan(1);
    // b restored from a backup taken before DRC ran there: its daemon starts on an empty routing.
    await stopDaemons(daemons.splice(1, 1));
    await s.db.b!.query('SET SESSION sql_log_bin = 0');
    await s.db.b!.query('DELETE FROM drc_meta.routing WHERE topology = ?', [s.prefix]);
    // As a build before this one seeded it: version 1 from the config. drc doctor fails on it.
    await seedRouting(s.db.b!, scopeOf(s.config));
    const doctor = await runDrc(['doctor', '--config', s.configFile, '--json']);
    expect(doctor.code).toBe(1);
    const versions = (JSON.parse(doctor.stdout) as { checks: { check: string; ok: boolean; message: string }[] }).checks.filter((c) => c.check === 'routing_versions');
    expect(versions).toMatchObject([{ ok: false, message: expect.stringMatching(new RegExp(`^routing versions differ between ezones \\(a ${version}, b 1\\): b behind`)) }]);
    await s.db.b!.query('DELETE FROM drc_meta.routing WHERE topology = ?', [s.prefix]);
    await s.db.b!.query('SET SESSION sql_log_bin = 1');
    daemons.push(...(await startDaemons(s, ['b'])));
    const report = await routing(s);
    expect(report.ezones.map((e) => e.version)).toEqual([version, version]);
    expect(await settledOwner(s)).toBe('b');
  }, 60_000);

  it('the TypeScript guard only reads <prefix>.routing: a missing topic is reported, not created, and drc_meta polling takes over (either Kafka client)', async () => {
    s = await setUp('guardnotopic');
    const topology = `${s.prefix}_nt`; // a topology no daemon or switchover has run for: no routing topic
    await ensureMetaSchema(s.db.a!);
    const admin = s.kafka.admin();
    await admin.connect();
    try {
      for (const client of ['platformatic', 'kafkajs'] as const) {
        const errors: string[] = [];
        const codes: unknown[] = [];
        const guard = await RoutingGuard.open({ pool: s.db.a!, ezone: 'a', topology: `${topology}${client[0]}`, ownership: s.config.ownership, refreshMs: 0, follow: { kafka: { ...s.config.kafka, client }, recheckMs: 500 }, onError: (e) => void (errors.push(e.message), codes.push((e as { code?: unknown }).code)) });
        try {
          expect(errors).toEqual([expect.stringMatching(new RegExp(`routing topic ${topology}${client[0]}\\.routing is missing or not visible to this Kafka user .*polling every 100 ms .*again every 0.5 s`))]);
          expect(codes).toEqual(['DRC_TOPIC_MISSING']);
          expect(guard.followsTopic).toBe(false);
          expect(await admin.listTopics()).not.toContain(routingTopic(`${topology}${client[0]}`));
          expect(guard.checkKey(users.moving[0]!)).toMatchObject({ writable: true, version: 0 });
          // The routing seeded in drc_meta reaches it by polling (refreshMs 0 asked for the topic alone).
          await seedRouting(s.db.a!, { ...scopeOf(s.config), topology: `${topology}${client[0]}` });
          await eventually('the guard polling drc_meta', async () => guard.checkKey(users.moving[0]!).version === 1);
          expect(guard.checkKey(users.staying[0]!)).toMatchObject({ writable: false, owner: 'b', version: 1 });
          // The topic appears (a daemon's first run): the guard checks again and follows it.
          await admin.createTopics({ topics: [{ topic: routingTopic(`${topology}${client[0]}`), numPartitions: 1 }], waitForLeaders: true });
          await eventually('the guard following the topic once it exists', async () => guard.followsTopic);
        } finally {
          await guard.close();
        }
        await s.db.a!.query('DELETE FROM drc_meta.routing WHERE topology = ?', [`${topology}${client[0]}`]);
      }
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it.runIf(infra().mode === 'local' && infra().kafka.fault !== undefined)('the TypeScript guard keeps checking for <prefix>.routing after every failed attempt (Kafka unreachable), and follows it once Kafka is back', async () => {
    s = await setUp('guardretry');
    daemons.push(...(await startDaemons(s, ['a']))); // creates the routing topic
    // The guard reaches Kafka only through a proxy that is not listening yet (the broker advertises the proxy's port to it).
    const fault = infra().kafka.fault!;
    const proxy = new FaultProxy(fault.listenerPort, fault.proxyPort);
    const codes: unknown[] = [];
    const guard = await RoutingGuard.open({ pool: s.db.a!, ezone: 'a', topology: s.prefix, ownership: s.config.ownership, refreshMs: 0, follow: { kafka: { ...s.config.kafka, brokers: [`127.0.0.1:${fault.proxyPort}`] }, recheckMs: 300 }, onError: (e) => void codes.push((e as { code?: unknown }).code) });
    try {
      await waitFor(async () => codes.length, { what: 'two failed attempts reported', until: (n) => n >= 2, timeoutMs: 60_000, intervalMs: 100 });
      expect(new Set(codes)).toEqual(new Set(['DRC_KAFKA_UNAVAILABLE']));
      expect(guard.followsTopic).toBe(false);
      expect(guard.checkKey(users.moving[0]!)).toMatchObject({ owner: 'a', version: 1 }); // polling drc_meta meanwhile
      await proxy.start();
      await eventually('the guard following the topic once Kafka is reachable', async () => guard.followsTopic, 60_000);
    } finally {
      await guard.close();
      await proxy.stop();
    }
  }, 120_000);

  it('the TypeScript guard follows <prefix>.routing itself (polling drc_meta as well, by default): a switchover reaches it from the topic, with either Kafka client', async () => {
    s = await setUp('follow');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const errors: string[] = [];
    const open = (client: 'platformatic' | 'kafkajs') =>
      RoutingGuard.open({ pool: s!.db.a!, ezone: 'a', topology: s!.prefix, ownership: s!.config.ownership, follow: { kafka: { ...s!.config.kafka, client } }, onError: (e) => errors.push(e.message) });
    const guards = [await open('platformatic'), await open('kafkajs')];
    try {
      const key = users.moving[0]!;
      for (const g of guards) expect(g.checkKey(key)).toMatchObject({ writable: true, owner: 'a', banned: false, version: 1 });
      await replicating(s);
      const moved = await runDrc(['switchover', '--config', s.configFile, '--shards', '0-7', '--to', 'b', '--timeout', '30s', '--json']);
      expect(moved.code, moved.stderr).toBe(0);
      const flipVersion = (JSON.parse(moved.stdout) as { flipVersion: number }).flipVersion;
      for (const g of guards) await eventually('the guard following the flip', async () => g.checkKey(key).version === flipVersion);
      for (const g of guards) expect(g.checkKey(key)).toMatchObject({ writable: false, owner: 'b', banned: false, version: flipVersion });

      // What it knows comes from the topic, not the database: a change only the topic carries reaches
      // it, an older one changes nothing, and a message that is no routing change is reported.
      const producer = s.kafka.producer();
      await producer.connect();
      const topic = routingTopic(s.prefix);
      await producer.send({
        topic,
        messages: [
          { key: '0-7', value: JSON.stringify({ switchover: 'so-test', step: 'banned', version: flipVersion + 1, shards: '0-7', owner: 'b', state: 'banned', movingTo: 'a', writtenIn: 'b', at: new Date().toISOString() }) },
          { key: '0-7', value: JSON.stringify({ version: 1, shards: '0-7', owner: 'a', state: 'owned' }) },
          { key: 'x', value: 'not json' },
        ],
      });
      await producer.disconnect();
      for (const g of guards) await eventually('the guard applying the topic-only change', async () => g.checkKey(key).version === flipVersion + 1);
      for (const g of guards) expect(g.checkKey(key)).toMatchObject({ writable: false, owner: 'b', banned: true });
      // The 100 ms polling reads drc_meta, still at flipVersion: it must not undo the newer ban.
      await new Promise((r) => setTimeout(r, 500));
      for (const g of guards) expect(g.checkKey(key)).toMatchObject({ writable: false, owner: 'b', banned: true, version: flipVersion + 1 });
      await eventually('both guards reporting the stray message', async () => errors.filter((e) => /not a routing change/.test(e)).length === 2);
      expect(errors.filter((e) => !/not a routing change/.test(e))).toEqual([]);
    } finally {
      for (const g of guards) await g.close();
    }
  }, 120_000);

  it('20 switchovers back and forth under load: every acknowledged write everywhere, verify clean, no violation, short write-unavailable window', async () => {
    s = await setUp('switchload');
    const install = await runDrc(['guard', 'install', '--config', s.configFile, ...asAdmin()], { env: adminEnv() });
    expect(install.code, install.stdout + install.stderr).toBe(0);
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await replicating(s);

    const table = `${s.schema}.orders`;
    const acked: number[] = [];
    const movingAcks: Record<string, number[]> = { a: [], b: [] };
    let refusedByTriggers = 0;
    let stop = false;
    const writer = async (ezone: string, base: number) => {
      const conn = await connectEzone(ezone, s!.schema);
      const routingConn = await connectEzone(ezone);
      const guard = await RoutingGuard.open({ pool: routingConn, ezone, topology: s!.prefix, ownership: s!.config.ownership, refreshMs: 10 });
      let n = 0;
      try {
        while (!stop) {
          n++;
          const moving = n % 2 === 0;
          const pool = moving ? users.moving : users.staying;
          const user = pool[n % pool.length]!;
          if (!guard.check(table, { user_id: user }).writable) {
            await sleep(2);
            continue;
          }
          const id = base + n;
          try {
            await conn.query('INSERT INTO orders (id, user_id, amount) VALUES (?, ?, ?)', [id, user, n]);
          } catch (err) {
            const e = err as { sqlState?: string; errno?: number };
            if (e.sqlState === '45000') refusedByTriggers++; // the guard's view was a moment behind the ban
            else if (e.errno !== 1213 && e.errno !== 1205) throw err; // deadlock / lock wait with the ban: not acknowledged
            continue;
          }
          acked.push(id);
          if (moving) movingAcks[ezone]!.push(Date.now());
        }
      } finally {
        guard.close();
        await conn.end();
        await routingConn.end();
      }
    };
    // Two writers per ezone, each asking its guard before every write.
    const writers = [writer('a', 1_000_000_000), writer('a', 2_000_000_000), writer('b', 3_000_000_000), writer('b', 4_000_000_000)];

    const windows: number[] = [];
    const runs: { to: string; ms: number; banToFlipMs: number | undefined; steps: string }[] = [];
    try {
      await sleep(300);
      for (let i = 0; i < 20; i++) {
        const to = i % 2 === 0 ? 'b' : 'a';
        const from = to === 'b' ? 'a' : 'b';
        const t0 = Date.now();
        const result = await switchover(s.config, { shards: { from: 0, to: 7 }, to, timeoutMs: 30_000, resume: false, log });
        expect(result.state, JSON.stringify(result)).toBe('done');
        const t1 = Date.now();
        runs.push({ to, ms: t1 - t0, banToFlipMs: result.banToFlipMs, steps: result.steps.map((x) => `${x.step} ${x.ms}`).join(', ') });
        await waitFor(() => movingAcks[to]!.some((t) => t > t1), { what: `a write of the moved shards acknowledged in ${to}`, timeoutMs: 10_000, intervalMs: 5 });
        // Every acknowledged write of the old owner so far, including any after the flip (there must be
        // none): a negative window is the two owners writing the moving shards at once.
        const lastOld = movingAcks[from]!.reduce((m, t) => Math.max(m, t), 0);
        const firstNew = movingAcks[to]!.reduce((m, t) => (t > t0 ? Math.min(m, t) : m), Infinity);
        windows.push(firstNew - lastOld);
        await sleep(150);
      }
    } finally {
      stop = true;
      await Promise.all(writers);
    }

    const rows = JSON.parse(await converge(s, 'orders', ['a', 'b'], { timeoutMs: 120_000 })) as { id: number }[];
    const present = new Set(rows.map((r) => Number(r.id)));
    expect(acked.filter((id) => !present.has(id))).toEqual([]);
    const verify = await runDrc(['verify', '--config', s.configFile, '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect((JSON.parse(verify.stdout) as { differences: unknown[] }).differences).toEqual([]);
    for (const ez of ['a', 'b']) expect((await conflictsIn(s, ez)).filter((c) => c.reason === 'ownership')).toEqual([]);
    expect(daemons.map((d) => d.capture.stats.wrongWrites)).toEqual([0, 0]);
    expect(await settledOwner(s)).toBe('a');

    const sorted = [...windows].sort((x, y) => x - y);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    process.stdout.write(
      `\n[switchover] 20 switchovers under load: ${acked.length} writes acknowledged (${refusedByTriggers} refused by the triggers), write-unavailable window of the moving shards p50 ${median} ms, max ${sorted.at(-1)} ms (20 samples: the max is also the p95 and p99); switchover run p50 ${[...runs].map((r) => r.ms).sort((x, y) => x - y)[9]} ms\n`,
    );
    process.stdout.write(`[switchover] windows (ms): ${windows.join(' ')}\n${runs.map((r, i) => `  #${i} → ${r.to}: ${r.ms} ms (${r.steps})`).join('\n')}\n`);
    // Old owner's last acknowledged write before the new owner's first: never two writers at once.
    expect(windows.filter((w) => w < 0)).toEqual([]);
    expect(sorted.at(-1)).toBeLessThanOrEqual(1000);
  }, 240_000);

  it('killed at every step, a resumed run finishes; a concurrent run is refused; a timeout rolls back; an emergency run forces', async () => {
    s = await setUp('switchkill');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await replicating(s);
    const steps = ['started', 'banned', 'fenced', 'flipped'] as const;
    let owner = 'a';
    for (const step of steps) {
      const to = owner === 'a' ? 'b' : 'a';
      const child = spawn(process.execPath, [DRC_BIN, 'switchover', '--config', s.configFile, '--shards', '0-7', '--to', to, '--json'], { env: { ...process.env, DRC_TEST_HOOK_SWITCHOVER_HANG_AT: step }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
      await waitFor(() => stderr, { what: `the switchover at ${step}`, until: (e) => e.includes(`hanging at ${step}`) || child.exitCode !== null, timeoutMs: 60_000 });
      expect(stderr).toContain(`hanging at ${step}`);
      if (step === 'banned') {
        const second = await runDrc(['switchover', '--config', s.configFile, '--shards', '0-7', '--to', to]);
        expect(second.code).toBe(1);
        expect(second.stderr).toMatch(/another drc switchover of this topology is running/);
        // The lock is the topology's: a run for another topology on the same servers is not blocked by it.
        const other = { ...s.config, kafka: { ...s.config.kafka, topicPrefix: `${s.prefix}_other` } };
        expect(await switchover(other, { resume: true, timeoutMs: 5_000, log })).toMatchObject({ state: 'none', reason: 'no unfinished switchover to resume' });
      }
      child.kill('SIGKILL');
      await exited;
      const fresh = await runDrc(['switchover', '--config', s.configFile, '--shards', '8-15', '--to', 'a']);
      expect(fresh.code, fresh.stderr).toBe(1);
      expect(fresh.stderr).toMatch(/is unfinished .*drc switchover --resume/);
      const resumed = await runDrc(['switchover', '--config', s.configFile, '--resume', '--json']);
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ state: 'done', to, shards: '0-7' });
      owner = to;
      expect(await settledOwner(s)).toBe(owner);
    }
    const none = await runDrc(['switchover', '--config', s.configFile, '--resume', '--json']);
    expect(JSON.parse(none.stdout)).toMatchObject({ state: 'none' });

    // b stops applying: the ban never reaches it, the switchover rolls back and a keeps the shards.
    const b = daemons.pop()!;
    await b.close();
    const timedOut = await runDrc(['switchover', '--config', s.configFile, '--shards', '0-7', '--to', 'b', '--timeout', '1s', '--json']);
    expect(timedOut.code, timedOut.stderr).toBe(1);
    expect(JSON.parse(timedOut.stdout)).toMatchObject({ state: 'rolled-back', reason: expect.stringMatching(/ezone b has not applied routing version/) });
    // b back, as a `drc run` process this time: its /metrics and /healthz show the routing.
    const bProcess = await DaemonProcess.start(['run', '--config', s.configFile, '--ezone', 'b']);
    processes.push(bProcess);
    await bProcess.waitActive();
    expect(await settledOwner(s)).toBe('a');

    // The emergency: a unreachable (its port closed in the operator's config), the shards forced to b.
    const cut = join(mkdtempSync(join(tmpdir(), 'drc-cut-')), 'drc.yaml');
    writeFileSync(cut, JSON.stringify({ ...s.config, ezones: { ...s.config.ezones, a: { ...s.config.ezones.a!, mysql: { ...s.config.ezones.a!.mysql, port: 9, connectTimeoutMs: 1000 } } } }));
    const planned = await runDrc(['switchover', '--config', cut, '--shards', '0-7', '--to', 'b']);
    expect(planned.code).toBe(1);
    expect(planned.stderr).toMatch(/cannot connect to ezone a.*a planned switchover needs every ezone \(--force/);
    // --force is refused while the old owner is reachable, and while another range's switchover is unfinished.
    const reachable = await runDrc(['switchover', '--config', s.configFile, '--shards', '0-7', '--to', 'b', '--force']);
    expect(reachable.code).toBe(1);
    expect(reachable.stderr).toMatch(/--force is for an unreachable old owner, and ezone a \(the shards' owner\) is reachable: run the planned switchover/);
    const other = spawn(process.execPath, [DRC_BIN, 'switchover', '--config', s.configFile, '--shards', '8-15', '--to', 'a', '--json'], { env: { ...process.env, DRC_TEST_HOOK_SWITCHOVER_HANG_AT: 'banned' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let otherErr = '';
    other.stderr.on('data', (d: Buffer) => (otherErr += d.toString()));
    const otherExited = new Promise<void>((resolve) => other.on('close', () => resolve()));
    await waitFor(() => otherErr, { what: 'the switchover of 8-15 at banned', until: (e) => e.includes('hanging at banned') || other.exitCode !== null, timeoutMs: 60_000 });
    other.kill('SIGKILL');
    await otherExited;
    const blocked = await runDrc(['switchover', '--config', cut, '--shards', '0-7', '--to', 'b', '--force']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/switchover so-\S+ of shards 8-15 from b to a is unfinished \(banned\): finish it first/);
    const finished = await runDrc(['switchover', '--config', s.configFile, '--resume', '--json']);
    expect(finished.code, finished.stdout + finished.stderr).toBe(0);
    const forced = await runDrc(['switchover', '--config', cut, '--shards', '0-7', '--to', 'b', '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ state: 'done', from: 'a', to: 'b', reason: expect.stringMatching(/forced \(unreachable: a\)/) });
    expect(await settledOwner(s)).toBe('b'); // a applies it from b's stream (it was only cut off for the CLI)
    const version = (await routing(s)).ezones[0]!.version;
    await eventually('b’s /metrics at the routing version', async () => (await bProcess.metric('drc_routing_version')) === version);
    expect(await bProcess.metric('drc_switchover_state')).toBe(0);
    const health = (await (await fetch(`http://127.0.0.1:${bProcess.metricsPort}/healthz`)).json()) as { routing?: unknown };
    expect(health.routing).toMatchObject({ version, banned: 0, switchover: { state: 'done' } });

    // Every routing change the CLI made, in order, on <prefix>.routing.
    const events = (await readTopic(s.kafka, routingTopic(s.prefix), (ms) => ms.some((m) => m.value.toString().includes('"writtenIn":"b","at"') && m.value.toString().includes('"step":"done"')), 30_000)).map(
      (m) => JSON.parse(m.value.toString()) as RoutingEvent,
    );
    expect(events.map((e) => e.version)).toEqual([...events.map((e) => e.version)].sort((x, y) => x - y));
    expect(new Set(events.map((e) => e.step))).toEqual(new Set(['banned', 'flipped', 'rolled-back', 'done']));
    expect(events.at(-1)).toMatchObject({ step: 'done', shards: '0-7', owner: 'b', state: 'owned', writtenIn: 'b', version });

    const doctor = await runDrc(['doctor', '--config', s.configFile, '--json']);
    const checks = (JSON.parse(doctor.stdout) as { checks: { ezone: string; check: string; ok: boolean; warning?: boolean; message: string }[] }).checks.filter((c) => c.check === 'routing');
    expect(checks.map((c) => [c.ezone, c.ok, c.warning ?? false])).toEqual([['a', true, true], ['b', true, true]]);
    expect(checks[0]!.message).toMatch(/differs from the config's ownership.routing: 0-7 → b/);
  }, 240_000);
});
