/**
 * Issue 15: encrypted, authenticated links, for real. This file brings up its own TLS sandbox
 * (`drc sandbox up --tls`: two MariaDB servers with require_secure_transport=ON, DRC's account
 * REQUIRE X509, one Kafka broker with only an mTLS SSL listener and a SASL_SSL SCRAM listener) and
 * checks: plaintext is refused; daemons replicate both ways over TLS (MySQL: verify_identity +
 * client certificate on every connection — the binlog reader's too, since the account refuses any
 * connection without a certificate; Kafka: SCRAM-SHA-512 over SASL_SSL, password from a file); a
 * MariaDB restart under load; the same with kafka.client kafkajs (a over SASL_SSL, b over mTLS); the
 * admin tools (doctor, verify, lag) over the mTLS listener; a wrong CA fails naming the server and the
 * file, on the MySQL side and on the Kafka side (both clients); producers (transactional and
 * event) whose SCRAM password is rotated on the broker while they run stop retrying once they must authenticate again, and say so; doctor's least-privilege check fails on SUPER; `drc demo
 * --tls` runs on this sandbox.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxInfo } from '../../src/sandbox/sandbox.js';
import { restartServer } from '../../src/sandbox/sandbox.js';
import { makeCa } from '../../src/sandbox/certs.js';
import { runCommand, runDrc } from '../support/cli.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { testLogger } from '../support/test-logger.js';
import { infra } from '../support/env.js';
import { connectionOptions } from '../../src/db/connect.js';
import { parseConfig } from '../../src/config/loader.js';
import { KafkaRejectedError } from '../../src/errors.js';
import { sandboxConnectionOptions } from '../../src/sandbox/admin-account.js';
import { createTransport } from '../../src/transport/select.js';
import { ensureKafkaLibs } from '../../src/sandbox/kafka.js';
import { ensurePrerequisites, KAFKA_TOOLS } from '../../src/sandbox/prerequisites.js';
import { eventually } from '../support/wait.js';

const DIR = resolve(process.env.DRC_TEST_SANDBOX_DIR ?? '.test-sandbox', 'tls-sandbox');
const SCHEMA = 'tls_app';
const TABLE = `CREATE TABLE ${SCHEMA}.item (id INT PRIMARY KEY, note VARCHAR(64) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))`;
const log = testLogger();

/** The parts of the sandbox's drc.yaml this file changes. */
interface SandboxConfig {
  kafka: Record<string, unknown>;
  ezones: Record<string, { mysql: { tls: { ca: string } } }>;
  replicate?: unknown;
  log?: unknown;
}

interface DoctorReport {
  ok: boolean;
  checks: { ezone: string; check: string; ok: boolean; warning?: boolean; message: string }[];
}

describe('TLS sandbox: encrypted, authenticated links', () => {
  let info: SandboxInfo;
  const work = mkdtempSync(join(tmpdir(), 'drc-tls-'));
  const admin: Record<string, mysql.Connection> = {};
  const daemons: DaemonProcess[] = [];
  /** The daemons' config: the sandbox's, Kafka through the SASL_SSL listener (SCRAM-SHA-512, password from a file). */
  let saslConfig = '';
  /** The same with kafka.client kafkajs: a's over SASL_SSL, b's over the mTLS listener. */
  const kafkajsConfigs: Record<string, string> = {};

  beforeAll(async () => {
    const up = await runDrc(['sandbox', 'up', '--tls', '--json', '--ezones', '2', '--dir', DIR], { timeoutMs: 300_000 });
    expect(up.code, up.stderr).toBe(0);
    info = JSON.parse(up.stdout) as SandboxInfo;
    // The helper `drc demo` and the bench connect with (db/tls.ts: verify_identity against the entry's CA).
    for (const ez of info.ezones) admin[ez.name] = await mysql.createConnection(sandboxConnectionOptions(ez.mysql, { dateStrings: true, timezone: 'Z' }));
    await admin.a!.query(`DROP DATABASE IF EXISTS ${SCHEMA}`);
    await admin.b!.query(`DROP DATABASE IF EXISTS ${SCHEMA}`);
    await admin.a!.query('DROP DATABASE IF EXISTS drc_meta');
    await admin.b!.query('DROP DATABASE IF EXISTS drc_meta');
    for (const c of Object.values(admin)) {
      await c.query(`CREATE DATABASE ${SCHEMA}`);
      await c.query(TABLE);
    }
    const cfg = parse(readFileSync(info.config, 'utf8')) as SandboxConfig;
    const secret = join(work, 'kafka-scram-password');
    writeFileSync(secret, `${info.kafka.sasl!.password}\n`, { mode: 0o600 });
    cfg.kafka = {
      ...cfg.kafka,
      brokers: info.kafka.sasl!.brokers,
      topicPrefix: `tls${Date.now().toString(36)}`,
      ssl: { ca: info.kafka.tls!.ca },
      sasl: { mechanism: 'scram-sha-512', username: info.kafka.sasl!.username, passwordFile: secret },
    };
    cfg.replicate = { include: [`${SCHEMA}.*`] };
    cfg.log = { level: 'debug' };
    saslConfig = join(work, 'drc.yaml');
    writeFileSync(saslConfig, stringify(cfg));
    // kafkajs: a over the SASL_SSL listener with SASL PLAIN, b over the mTLS listener (the sandbox's own kafka block), same topics.
    const mtls = parse(readFileSync(info.config, 'utf8')) as SandboxConfig;
    kafkajsConfigs.a = join(work, 'kafkajs-sasl.yaml');
    writeFileSync(kafkajsConfigs.a, stringify({ ...cfg, kafka: { ...cfg.kafka, client: 'kafkajs', sasl: { ...(cfg.kafka.sasl as object), mechanism: 'plain' } } }));
    kafkajsConfigs.b = join(work, 'kafkajs-mtls.yaml');
    writeFileSync(kafkajsConfigs.b, stringify({ ...cfg, kafka: { ...mtls.kafka, topicPrefix: cfg.kafka.topicPrefix, client: 'kafkajs' } }));
  }, 360_000);

  afterAll(async () => {
    for (const d of daemons) if (d.child.exitCode === null) await d.kill('SIGTERM');
    for (const c of Object.values(admin)) await c.end().catch(() => undefined);
    if (process.env.DRC_TEST_KEEP_SANDBOX !== '1') await runDrc(['sandbox', 'down', '--dir', DIR]);
  }, 120_000);

  it('prints the same JSON shape as without --tls, each mysql entry with its CA; admin connects over TLS without a client certificate', async () => {
    expect(Object.keys(info).sort()).toEqual(['config', 'ezones', 'kafka']);
    for (const ez of info.ezones) {
      expect(Object.keys(ez.mysql).sort()).toEqual(['ca', 'host', 'password', 'port', 'user']);
      const [[cipher]] = await admin[ez.name]!.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      expect(String(cipher!.Value)).not.toBe('');
    }
    expect(info.kafka.brokers).toHaveLength(1);
  });

  it('refuses plaintext: mariadb --ssl=0, a mysql2 client without TLS, DRC\'s account without its client certificate, a Kafka client without TLS', async () => {
    for (const ez of info.ezones) {
      const { host, port, user, password, ca } = ez.mysql;
      const plain = await runCommand('mariadb', ['--ssl=0', '-h', host, '-P', String(port), '-u', user, `-p${password}`, '-e', 'SELECT 1']);
      expect(plain.code).not.toBe(0);
      const tls = await runCommand('mariadb', ['--ssl', `--ssl-ca=${ca}`, '-h', host, '-P', String(port), '-u', user, `-p${password}`, '-N', '-e', "SHOW SESSION STATUS LIKE 'Ssl_version'"]);
      expect(tls.code, tls.stderr).toBe(0);
      expect(tls.stdout).toMatch(/Ssl_version\s+TLSv1\.[23]/);
      await expect(mysql.createConnection({ host, port, user, password })).rejects.toThrow();
      const drcPassword = readFileSync(join(DIR, 'secrets', 'drc-mysql-password'), 'utf8').trim();
      await expect(mysql.createConnection({ host, port, user: 'drc', password: drcPassword, ssl: { ca: readFileSync(ca!, 'utf8') } })).rejects.toThrow(/Access denied/);
    }
    const [host, port] = info.kafka.brokers[0]!.split(':');
    const { Kafka, logLevel } = await import('kafkajs');
    const plainKafka = new Kafka({ clientId: 'plain', brokers: [`${host}:${port}`], logLevel: logLevel.NOTHING, connectionTimeout: 2000, retry: { retries: 0 } }).admin();
    await expect(plainKafka.connect().then(() => plainKafka.describeCluster())).rejects.toThrow();
    await plainKafka.disconnect();
  });

  it('a wrong CA fails with one line naming the server and the CA file (doctor and run)', async () => {
    const wrong = await makeCa(join(work, 'wrong-ca'), 'ca', 'not the sandbox CA');
    const cfg = parse(readFileSync(info.config, 'utf8')) as SandboxConfig;
    cfg.ezones.a!.mysql.tls.ca = wrong.cert;
    const file = join(work, 'wrong-ca.yaml');
    writeFileSync(file, stringify(cfg));
    const doctor = await runDrc(['doctor', '--config', file, '--ezone', 'a', '--json']);
    expect(doctor.code).toBe(1);
    const connect = (JSON.parse(doctor.stdout) as DoctorReport).checks.find((c) => c.check === 'connect')!;
    expect(connect.ok).toBe(false);
    expect(connect.message).toContain(`ezone a's database at 127.0.0.1:${info.ezones[0]!.mysql.port} is not trusted`);
    expect(connect.message).toContain(`not signed by the CA in ${wrong.cert} (mysql.tls.ca)`);
    const run = await runDrc(['run', '--config', file, '--ezone', 'a'], { timeoutMs: 60_000 });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`not signed by the CA in ${wrong.cert}`);
  });

  it('a wrong Kafka CA fails with one line naming the broker, kafka.ssl.ca and the file, with both clients (doctor; run)', async () => {
    const wrong = await makeCa(join(work, 'wrong-kafka-ca'), 'ca', 'not the sandbox CA either');
    const broker = info.kafka.brokers[0]!;
    for (const client of ['platformatic', 'kafkajs'] as const) {
      const cfg = parse(readFileSync(info.config, 'utf8')) as SandboxConfig;
      cfg.kafka = { ...cfg.kafka, client, ssl: { ...(cfg.kafka.ssl as object), ca: wrong.cert } };
      const file = join(work, `wrong-kafka-ca-${client}.yaml`);
      writeFileSync(file, stringify(cfg));
      const doctor = await runDrc(['doctor', '--config', file, '--ezone', 'a', '--json']);
      expect(doctor.code).toBe(1);
      const check = (JSON.parse(doctor.stdout) as DoctorReport).checks.find((c) => c.check === 'kafka')!;
      expect(check, client).toMatchObject({ ok: false });
      // kafkajs names the broker it tried, platformatic the configured ones: here the same one.
      expect(check.message, client).toMatch(/^cannot connect: the TLS certificate of (the )?Kafka broker/);
      expect(check.message, client).toContain(broker);
      expect(check.message, client).toContain(`is not trusted: `);
      expect(check.message, client).toContain(`not signed by the CA in ${wrong.cert} (kafka.ssl.ca)`);
      // The daemon: the MySQL side is fine, the first Kafka request fails for good (no retry as if the broker were down), naming the same.
      const run = await runDrc(['run', '--config', file, '--ezone', 'a'], { timeoutMs: 90_000 });
      expect(run.code, client).not.toBe(0);
      expect(run.stderr, client).toContain(`not signed by the CA in ${wrong.cert} (kafka.ssl.ca)`);
    }
  }, 180_000);

  it("platformatic producers (capture's transactional one, the event publisher of conflicts and dead letters) whose SCRAM password is rotated on the broker while they run stop retrying once they must authenticate again, naming the cause; the event publisher connects afresh on its next publish", async () => {
    // A user of its own (the sandbox's stays as it is), made and rotated with Kafka's own tool over the mTLS listener.
    const user = `drc-rotated-${Date.now().toString(36)}`;
    await scramPassword(user, 'the-first-password');
    const secret = join(work, `${user}-password`);
    writeFileSync(secret, 'the-first-password\n', { mode: 0o600 });
    const cfg = parse(readFileSync(saslConfig, 'utf8')) as SandboxConfig;
    const config = parseConfig(stringify({ ...cfg, kafka: { ...cfg.kafka, client: 'platformatic', sasl: { mechanism: 'scram-sha-512', username: user, passwordFile: secret } } }), 'rotated.yaml', {});
    const topic = `${String(cfg.kafka.topicPrefix)}.rotated`;
    const transport = await createTransport(config.kafka, { clientId: 'drc-test-rotated', log });
    await transport.ensureTopics([{ topic, partitions: 1, replicationFactor: -1 }]);
    const publisher = transport.atomicPublisher(`drc-test-rotated-${user}`, 1 << 20);
    const events = transport.eventPublisher(1 << 20);
    const publish = async (text: string) => {
      const batch = await publisher.begin();
      await batch.send([{ topic, key: 'k', value: Buffer.from(text) }]);
      await batch.commit();
    };
    const report = (text: string) => events.publish([{ topic, key: 'e', value: Buffer.from(text) }]);
    const failureOf = (p: Promise<void>) => p.then(() => undefined, (e: unknown) => e);
    try {
      await publisher.connect();
      await events.connect();
      await publish('before the rotation');
      await report('event before the rotation');
      await scramPassword(user, 'the-second-password'); // the broker's credential changes; the producers still have the first
      await restartServer({ dir: DIR, server: 'kafka', log }); // their connections go: they must authenticate again
      const [err, eventErr] = await Promise.all([failureOf(publish('after the rotation')), failureOf(report('event after the rotation'))]);
      for (const [e, who] of [[err, 'the producer'], [eventErr, 'the event producer']] as const) {
        expect(e, who).toBeInstanceOf(KafkaRejectedError);
        expect(e, who).toMatchObject({ retryable: false, fatal: false }); // deterministic: the supervisor retries slowly and pauses the stream loudly
        expect((e as Error).message).toMatch(new RegExp(`^Kafka refused ${who}: .*authentication failed.* — \\d+ attempts over \\d+ s; check kafka\\.sasl`, 'i'));
        expect((e as Error).message).not.toContain('the-first-password');
      }
      // The broker takes the first password again: the event publisher's next report goes through (a new producer, not the closed one).
      await scramPassword(user, 'the-first-password');
      await report('event after the password came back');
    } finally {
      await publisher.close();
      await events.close();
    }
  }, 150_000);

  it('replicates both ways over TLS (MySQL mTLS, Kafka SASL_SSL SCRAM-SHA-512), through a MariaDB restart', async () => {
    for (const ez of ['a', 'b']) {
      const d = await DaemonProcess.start(['run', '--config', saslConfig, '--ezone', ez]);
      daemons.push(d);
      await d.waitActive(60_000);
    }
    await admin.a!.query(`INSERT INTO ${SCHEMA}.item (id, note) VALUES (1, 'from a'), (3, 'from a')`);
    await admin.b!.query(`INSERT INTO ${SCHEMA}.item (id, note) VALUES (2, 'from b')`);
    await converged(3);

    // Fault: b's server goes away and comes back on the same port; the daemons reconnect over TLS.
    const writes = (async () => {
      for (let i = 10; i < 60; i++) {
        await admin.a!.query(`INSERT INTO ${SCHEMA}.item (id, note) VALUES (?, 'during the restart')`, [i]);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await restartServer({ dir: DIR, server: 'b', downMs: 1500, log });
    await admin.b!.end().catch(() => undefined);
    const b = info.ezones[1]!.mysql;
    admin.b = await mysql.createConnection({ host: b.host, port: b.port, user: b.user, password: b.password, ssl: { ca: readFileSync(b.ca!, 'utf8') }, dateStrings: true, timezone: 'Z' });
    await writes;
    await admin.b!.query(`UPDATE ${SCHEMA}.item SET note = 'updated in b' WHERE id = 1`);
    await converged(53);
    const [[row]] = await admin.a!.query<mysql.RowDataPacket[]>(`SELECT note FROM ${SCHEMA}.item WHERE id = 1`);
    expect(row!.note).toBe('updated in b');
    for (const d of daemons) expect(d.child.exitCode).toBeNull();
  }, 240_000);

  it('replicates both ways with kafka.client kafkajs too: a over SASL_SSL (PLAIN), b over mTLS', async () => {
    for (const d of daemons) if (d.child.exitCode === null) await d.kill('SIGTERM');
    const started: DaemonProcess[] = [];
    for (const ez of ['a', 'b']) {
      const d = await DaemonProcess.start(['run', '--config', kafkajsConfigs[ez]!, '--ezone', ez]);
      daemons.push(d);
      started.push(d);
      await d.waitActive(60_000);
    }
    await admin.a!.query(`INSERT INTO ${SCHEMA}.item (id, note) VALUES (101, 'kafkajs from a')`);
    await admin.b!.query(`INSERT INTO ${SCHEMA}.item (id, note) VALUES (102, 'kafkajs from b')`);
    await admin.b!.query(`UPDATE ${SCHEMA}.item SET note = 'kafkajs update in b' WHERE id = 2`);
    await converged(55);
    const [[row]] = await admin.a!.query<mysql.RowDataPacket[]>(`SELECT note FROM ${SCHEMA}.item WHERE id = 2`);
    expect(row!.note).toBe('kafkajs update in b');
    for (const d of started) expect(d.child.exitCode).toBeNull();
    for (const ez of ['a', 'b']) expect((parse(readFileSync(kafkajsConfigs[ez]!, 'utf8')) as SandboxConfig).kafka.client).toBe('kafkajs');
    expect((parse(readFileSync(kafkajsConfigs.a!, 'utf8')) as SandboxConfig).kafka.sasl).toMatchObject({ mechanism: 'plain' });
  }, 180_000);

  it('admin tools over TLS: doctor reports every link encrypted and verified with least privilege; verify and lag answer', async () => {
    const doctor = await runDrc(['doctor', '--config', info.config, '--json']);
    const report = JSON.parse(doctor.stdout) as DoctorReport;
    const tls = report.checks.filter((c) => c.check === 'tls');
    expect(tls.map((c) => c.ezone).sort()).toEqual(['a', 'b', 'kafka']);
    for (const c of tls) expect(c, c.message).toMatchObject({ ok: true });
    for (const c of tls) expect(c.warning, c.message).toBeFalsy();
    expect(tls.find((c) => c.ezone === 'a')!.message).toMatch(/^encrypted \(TLSv1\.[23] \S+, client certificate\), server certificate verified \(verify_identity/);
    expect(report.checks.filter((c) => c.check === 'privileges').every((c) => c.ok)).toBe(true);
    expect(doctor.code, doctor.stdout).toBe(0);

    const verify = await runDrc(['verify', '--config', saslConfig, '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const lag = await runDrc(['lag', '--config', saslConfig, '--json']);
    expect(lag.code, lag.stdout + lag.stderr).toBe(0);
  }, 120_000);

  it('mode preferred encrypts where the server offers TLS and falls back where it does not; required refuses a server without TLS', async () => {
    const cipherWith = async (account: { host: string; port: number; user: string; password: string }, mode: 'preferred' | 'required') => {
      const conn = await mysql.createConnection(connectionOptions({ ...account, flavor: 'mariadb', connectTimeoutMs: 5000, tls: { mode } }));
      try {
        const [[row]] = await conn.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
        return String(row!.Value);
      } finally {
        await conn.end();
      }
    };
    const { ca: _ca, ...tlsServer } = info.ezones[0]!.mysql;
    const plainServer = infra().ezones[0]!.mysql; // the suite's own sandbox: no TLS
    expect(await cipherWith(tlsServer, 'preferred')).not.toBe('');
    expect(await cipherWith(plainServer, 'preferred')).toBe('');
    await expect(cipherWith(plainServer, 'required')).rejects.toMatchObject({ code: 'HANDSHAKE_NO_SSL_SUPPORT' });
  });

  it("doctor's least-privilege check fails when DRC's account has SUPER, naming it", async () => {
    await admin.a!.query("GRANT SUPER ON *.* TO 'drc'@'%'");
    try {
      const doctor = await runDrc(['doctor', '--config', info.config, '--ezone', 'a', '--json']);
      expect(doctor.code).toBe(1);
      const check = (JSON.parse(doctor.stdout) as DoctorReport).checks.find((c) => c.check === 'privileges')!;
      expect(check.ok).toBe(false);
      expect(check.message).toContain('privileges beyond what DRC needs: SUPER on *.*');
    } finally {
      await admin.a!.query("REVOKE SUPER ON *.* FROM 'drc'@'%'");
    }
  });

  it('no password reaches the daemons\' output', () => {
    const secrets = [info.ezones[0]!.mysql.password, info.kafka.sasl!.password, readFileSync(join(DIR, 'secrets', 'drc-mysql-password'), 'utf8').trim()];
    for (const d of daemons) for (const s of secrets) expect(d.log).not.toContain(s);
    expect(readFileSync(saslConfig, 'utf8')).not.toMatch(/^\s*password:/m); // passwordFile only, for MySQL and Kafka
  });

  it('`drc demo --tls` runs on this sandbox: its connections and daemons use TLS (db/tls.ts), the ezones end identical', async () => {
    for (const d of daemons) if (d.child.exitCode === null) await d.kill('SIGTERM');
    const demo = await runDrc(['demo', '--tls', '--dir', DIR, '--duration', '6'], { timeoutMs: 150_000 });
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    expect(demo.stdout).toContain('TLS only');
    expect(demo.stdout).toMatch(/accounts identical in every ezone: yes/);
    expect(demo.stdout).toMatch(/daemons exited with 0, 0/);
  }, 180_000);

  /** Set `user`'s SCRAM-SHA-512 password on the broker (kafka-configs, over the mTLS listener with DRC's client certificate). */
  async function scramPassword(user: string, password: string): Promise<void> {
    const tls = info.kafka.tls!;
    const keystore = join(work, 'admin-keystore.pem');
    writeFileSync(keystore, readFileSync(tls.key, 'utf8') + readFileSync(tls.cert, 'utf8'), { mode: 0o600 });
    const properties = join(work, 'admin.properties');
    writeFileSync(properties, ['security.protocol=SSL', 'ssl.truststore.type=PEM', `ssl.truststore.location=${tls.ca}`, 'ssl.keystore.type=PEM', `ssl.keystore.location=${keystore}`, ''].join('\n'));
    const bins = ensurePrerequisites(KAFKA_TOOLS, log);
    const libs = await ensureKafkaLibs(bins.mvn!, log);
    const alter = await runCommand(bins.java!, ['-Xmx256m', '-cp', `${libs}/*`, 'kafka.admin.ConfigCommand', '--bootstrap-server', info.kafka.brokers[0]!, '--command-config', properties,
      '--alter', '--add-config', `SCRAM-SHA-512=[iterations=4096,password=${password}]`, '--entity-type', 'users', '--entity-name', user], { timeoutMs: 60_000 });
    expect(alter.stdout + alter.stderr, 'kafka-configs').toContain(`Completed updating config for user ${user}`);
  }

  async function converged(rows: number): Promise<void> {
    const read = async (ez: string) => JSON.stringify((await admin[ez]!.query(`SELECT id, note, updated_at FROM ${SCHEMA}.item ORDER BY id`))[0]);
    await eventually(`${rows} identical rows in a and b`, async () => {
      const [a, b] = [await read('a'), await read('b')];
      return a === b && (JSON.parse(a) as unknown[]).length === rows;
    }, 90_000);
  }
});
