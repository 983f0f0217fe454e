/**
 * Issue 15: encrypted, authenticated links, for real. This file brings up its own TLS sandbox
 * (`drc sandbox up --tls`: two MariaDB servers with require_secure_transport=ON, DRC's account
 * REQUIRE X509, one Kafka broker with only an mTLS SSL listener and a SASL_SSL SCRAM listener) and
 * checks: plaintext is refused; daemons replicate both ways over TLS (MySQL: verify_identity +
 * client certificate on every connection — the binlog reader's too, since the account refuses any
 * connection without a certificate; Kafka: SCRAM-SHA-512 over SASL_SSL, password from a file); a
 * MariaDB restart under load; the admin tools (doctor, verify, lag) over the mTLS listener; a wrong CA
 * fails naming the server and the file; doctor's least-privilege check fails on SUPER.
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

  beforeAll(async () => {
    const up = await runDrc(['sandbox', 'up', '--tls', '--json', '--ezones', '2', '--dir', DIR], { timeoutMs: 300_000 });
    expect(up.code, up.stderr).toBe(0);
    info = JSON.parse(up.stdout) as SandboxInfo;
    for (const ez of info.ezones) {
      const { ca, ...account } = ez.mysql;
      admin[ez.name] = await mysql.createConnection({ ...account, ssl: { ca: readFileSync(ca!, 'utf8') }, dateStrings: true, timezone: 'Z' });
    }
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

  async function converged(rows: number): Promise<void> {
    const read = async (ez: string) => JSON.stringify((await admin[ez]!.query(`SELECT id, note, updated_at FROM ${SCHEMA}.item ORDER BY id`))[0]);
    await eventually(`${rows} identical rows in a and b`, async () => {
      const [a, b] = [await read('a'), await read('b')];
      return a === b && (JSON.parse(a) as unknown[]).length === rows;
    }, 90_000);
  }
});
