/**
 * Debezium beside DRC in the capture phase (issue 14): the Debezium MySQL connector 3.6.1.Final in
 * Kafka Connect standalone (the runtime Debezium 3.6.1 is built against, Kafka 4.3.0), fetched with
 * Maven into the cache folder once, like the broker's jars (src/sandbox/kafka.ts).
 *
 * Debezium's MySQL connector refuses MariaDB by its version string (MySqlConnection
 * resolveBinaryLogStatusStatement: a server of major version > 8 "should support SHOW BINARY LOG
 * STATUS"), and its MariaDB connector is not on Maven Central here. So Debezium reads a MariaDB of
 * its own — the same mariadbd build and settings as the sandbox's, started with the version string
 * `5.7.99-MariaDB-<real version>` (the connector then uses SHOW MASTER STATUS; MariaDB needs a
 * version that begins with X.Y.Z to write its binlog), read through the MariaDB JDBC driver (MySQL's
 * Connector/J asks every server for transaction_isolation, which MariaDB 10.11 calls tx_isolation) —
 * holding the same backlog written the same way (1,000-row INSERT … SELECT transactions into
 * bench.cap). The sandbox's ezones keep their real version (native replication in the drain phase
 * reads it; DRC and zongji find "MariaDB" in either).
 *
 * Like DRC's catch-up, Debezium first records its resume point (a no_data snapshot, then streaming;
 * heartbeat records carry the offset to Connect's offset file), is stopped while the backlog is
 * written, and is timed catching up: the end offset of its table topic sampled every 200 ms, from
 * the first sample with rows to the one that holds the whole backlog.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { bootstrapMariaDb, initMariaDb, mariadbArgs, type MariaDbSpec, waitMariaDbReady } from '../../src/sandbox/mariadb.js';
import { cacheDir } from '../../src/sandbox/kafka.js';
import { freePort } from '../../src/sandbox/ports.js';
import { findCommand } from '../../src/sandbox/prerequisites.js';
import { spawnDetached, stopProcess } from '../../src/sandbox/processes.js';
import { say, sleep } from './options.js';

export const DEBEZIUM_VERSION = '3.6.1.Final';
/** Kafka Connect runtime: the Kafka version Debezium 3.6.1.Final is built against (debezium-build-parent version.kafka). */
export const CONNECT_VERSION = '4.3.0';
const TOPIC_PREFIX = 'dbz';
const TABLE_TOPIC = `${TOPIC_PREFIX}.bench.cap`;
const HEARTBEAT_TOPIC = `__debezium-heartbeat.${TOPIC_PREFIX}`;
const execFileAsync = promisify(execFile);

/** Fetch Debezium's connector, Kafka Connect and a log binding with Maven into the cache, once; returns the jar folder. */
export async function ensureDebeziumLibs(mvn: string): Promise<string> {
  const home = join(cacheDir(), `debezium-${DEBEZIUM_VERSION}-connect-${CONNECT_VERSION}`);
  const libs = join(home, 'libs');
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('debezium-connector-mysql-'))) return libs;
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'pom.xml'), pom());
  const staging = join(home, `libs.${process.pid}.tmp`);
  say(`  fetching Debezium ${DEBEZIUM_VERSION} and Kafka Connect ${CONNECT_VERSION} jars with Maven (first run only)…`);
  try {
    await execFileAsync(mvn, ['-B', '-q', '-f', join(home, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime'], {
      maxBuffer: 64 << 20,
      timeout: 15 * 60_000,
    });
    rmSync(libs, { recursive: true, force: true });
    renameSync(staging, libs); // atomic: a half-finished download is never taken for the real thing
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    const out = (err as { stdout?: string }).stdout ?? '';
    throw new Error(`could not fetch Debezium jars with Maven: ${out.trim().split('\n').slice(-3).join(' ') || (err as Error).message}`, { cause: err });
  }
  return libs;
}

function pom(): string {
  const dep = (g: string, a: string, v: string) => `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>drc.bench</groupId>
  <artifactId>debezium-libs</artifactId>
  <version>1</version>
  <dependencies>
${dep('io.debezium', 'debezium-connector-mysql', DEBEZIUM_VERSION)}
${dep('org.apache.kafka', 'connect-runtime', CONNECT_VERSION)}
${dep('org.apache.kafka', 'connect-json', CONNECT_VERSION)}
${dep('org.slf4j', 'slf4j-reload4j', '1.7.36')}
${dep('org.mariadb.jdbc', 'mariadb-java-client', '3.5.3')}
  </dependencies>

</project>
`;
}

/** The Debezium leg of one capture phase: its MariaDB, its Connect worker, its topics. */
export class DebeziumLeg {
  private worker: ChildProcess | undefined;
  private mariadbPid: number | undefined;
  private db: mysql.Connection | undefined;
  private readonly kafka: Kafka;

  private constructor(
    private readonly dir: string,
    private readonly libs: string,
    private readonly spec: MariaDbSpec,
    private readonly password: string,
    private readonly brokers: string[],
    private readonly restPort: number,
  ) {
    this.kafka = new Kafka({ clientId: 'bench-debezium', brokers, logLevel: logLevel.NOTHING });
  }

  /** Fetch the jars, start Debezium's MariaDB with the bench.cap table, create the topics. */
  static async prepare(dir: string, brokers: string[]): Promise<DebeziumLeg> {
    const mvn = findCommand('mvn');
    const java = findCommand('java');
    const mariadbd = findCommand('mariadbd');
    const installDb = findCommand('mariadb-install-db');
    if (!mvn || !java || !mariadbd || !installDb) throw new Error('the Debezium leg needs mvn, java, mariadbd and mariadb-install-db (the sandbox installs them)');
    const libs = await ensureDebeziumLibs(mvn);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const spec: MariaDbSpec = { name: 'debezium', dir: join(dir, 'mariadb'), port: await freePort(), serverId: 99, autoIncrementIncrement: 1 };
    const leg = new DebeziumLeg(dir, libs, spec, 'bench-debezium', brokers, await freePort());
    await leg.startMariaDb(mariadbd, installDb);
    const admin = leg.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [TABLE_TOPIC, HEARTBEAT_TOPIC].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })), waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    return leg;
  }

  private async startMariaDb(mariadbd: string, installDb: string): Promise<void> {
    await initMariaDb(this.spec, installDb);
    const [version] = (await execFileAsync(mariadbd, ['--no-defaults', '--version'])).stdout.match(/\d+\.\d+\.\d+/) ?? ['unknown'];
    this.mariadbPid = spawnDetached(mariadbd, [...mariadbArgs(this.spec), `--version=5.7.99-MariaDB-${version}`], join(this.spec.dir, 'stdout.log'));
    await waitMariaDbReady(this.spec, () => this.mariadbPid !== undefined);
    await bootstrapMariaDb(this.spec, { adminUser: 'root', adminPassword: this.password, drcUser: 'drc', drcPassword: this.password });
    this.db = await mysql.createConnection({ host: '127.0.0.1', port: this.spec.port, user: 'root', password: this.password });
    await this.db.query('CREATE DATABASE bench');
    await this.db.query('CREATE TABLE bench.cap (id INT PRIMARY KEY, v VARCHAR(8) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    await this.db.query('CREATE TABLE bench.tick (id INT PRIMARY KEY, n INT NOT NULL)');
  }

  /** Start Connect, let the connector take its resume point (no_data snapshot, then streaming), stop it. */
  async recordResumePoint(): Promise<void> {
    await this.startWorker();
    const offsets = join(this.dir, 'offsets.dat');
    // Writes to another table move the binlog on; the heartbeat records carry the offset to the file.
    for (let n = 0; !(existsSync(offsets) && statSync(offsets).size > 0 && (await this.topicEnd(HEARTBEAT_TOPIC)) > 0); n++) {
      if (n > 600) throw new Error(`Debezium recorded no resume point in 2 minutes; see ${join(this.dir, 'connect.log')}`);
      await this.db!.query('REPLACE INTO bench.tick (id, n) VALUES (1, ?)', [n]);
      await sleep(200);
    }
    await sleep(1500); // one more offset flush (offset.flush.interval.ms=500) past the last heartbeat
    await this.stopWorker();
  }

  /** The capture backlog, written as the DRC leg writes it: `rows` rows in 1,000-row transactions. */
  async writeBacklog(rows: number): Promise<void> {
    for (let i = 0; i < rows; i += 1000) await this.db!.query(`INSERT INTO bench.cap (id, v) SELECT seq + ${i}, 'x' FROM bench.seq_1_to_1000`);
  }

  /** Start Connect again and time the catch-up; returns row changes per second. */
  async catchUp(rows: number, timeoutMs: number): Promise<number> {
    await this.startWorker();
    const deadline = Date.now() + timeoutMs;
    const progress: { time: number; rowChanges: number }[] = [];
    while ((progress.at(-1)?.rowChanges ?? 0) < rows) {
      if (Date.now() > deadline) throw new Error(`Debezium did not ship the backlog in ${timeoutMs / 60_000} minutes; see ${join(this.dir, 'connect.log')}`);
      if (this.worker?.exitCode !== null) throw new Error(`Kafka Connect exited (${this.worker?.exitCode}); see ${join(this.dir, 'connect.log')}`);
      progress.push({ time: Date.now(), rowChanges: await this.topicEnd(TABLE_TOPIC) });
      await sleep(200);
    }
    const first = progress.find((p) => p.rowChanges > 0)!;
    const last = progress.find((p) => p.rowChanges >= rows)!;
    say(`  Debezium ${DEBEZIUM_VERSION}: ${last.rowChanges - first.rowChanges} row changes in ${((last.time - first.time) / 1000).toFixed(1)} s`);
    return Math.round((last.rowChanges - first.rowChanges) / ((last.time - first.time) / 1000));
  }

  /** Stop Connect and Debezium's MariaDB. */
  async tearDown(): Promise<void> {
    await this.stopWorker().catch(() => undefined);
    await this.db?.end().catch(() => undefined);
    if (this.mariadbPid !== undefined) await stopProcess(this.mariadbPid, 'mariadbd').catch(() => undefined);
    this.mariadbPid = undefined;
  }

  private async topicEnd(topic: string): Promise<number> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    } finally {
      await admin.disconnect();
    }
  }

  private async startWorker(): Promise<void> {
    writeFileSync(join(this.dir, 'worker.properties'), this.workerProperties());
    writeFileSync(join(this.dir, 'connector.properties'), this.connectorProperties());
    writeFileSync(join(this.dir, 'log4j.properties'), log4jProperties(join(this.dir, 'connect.log')));
    const java = findCommand('java')!;
    this.worker = spawn(
      java,
      ['-Xms256m', '-Xmx1g', `-Dlog4j.configuration=file:${join(this.dir, 'log4j.properties')}`, '-cp', `${this.libs}/*`, 'org.apache.kafka.connect.cli.ConnectStandalone', join(this.dir, 'worker.properties'), join(this.dir, 'connector.properties')],
      { stdio: 'ignore' },
    );
    const worker = this.worker;
    for (let n = 0; ; n++) {
      if (worker.exitCode !== null) throw new Error(`Kafka Connect exited (${worker.exitCode}) at start-up; see ${join(this.dir, 'connect.log')}`);
      if (n > 600) throw new Error(`Debezium's connector did not run within 2 minutes; see ${join(this.dir, 'connect.log')}`);
      const status = await fetch(`http://127.0.0.1:${this.restPort}/connectors/bench-debezium/status`)
        .then((r) => (r.ok ? (r.json() as Promise<{ tasks?: { state: string; trace?: string }[] }>) : undefined))
        .catch(() => undefined);
      const task = status?.tasks?.[0];
      if (task?.state === 'FAILED') throw new Error(`Debezium's task failed: ${task.trace?.split('\n')[0] ?? 'no trace'}; see ${join(this.dir, 'connect.log')}`);
      if (task?.state === 'RUNNING') return;
      await sleep(200);
    }
  }

  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker || worker.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.kill('SIGTERM'); // Connect stops its task and flushes the offsets
    const timer = setTimeout(() => worker.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  private workerProperties(): string {
    return [
      `bootstrap.servers=${this.brokers.join(',')}`,
      // Plain JSON without the schema envelope: the lighter of Debezium's usual encodings.
      'key.converter=org.apache.kafka.connect.json.JsonConverter',
      'value.converter=org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable=false',
      'value.converter.schemas.enable=false',
      `offset.storage.file.filename=${join(this.dir, 'offsets.dat')}`,
      'offset.flush.interval.ms=500',
      `listeners=http://127.0.0.1:${this.restPort}`,
      'plugin.discovery=only_scan',
      '',
    ].join('\n');
  }

  private connectorProperties(): string {
    return [
      'name=bench-debezium',
      'connector.class=io.debezium.connector.mysql.MySqlConnector',
      'tasks.max=1',
      'database.hostname=127.0.0.1',
      `database.port=${this.spec.port}`,
      // The MariaDB JDBC driver (see the top of this file).
      'database.jdbc.driver=org.mariadb.jdbc.Driver',
      'database.protocol=jdbc:mariadb',
      'database.ssl.mode=disabled', // the MariaDB driver knows no sslMode=preferred
      'database.user=root',
      `database.password=${this.password}`,
      'database.server.id=5454',
      `topic.prefix=${TOPIC_PREFIX}`,
      'database.include.list=bench',
      'table.include.list=bench.cap',
      // Only the table structure at the start; the rows come from the binlog (never, in Debezium 3, is no_data).
      'snapshot.mode=no_data',
      'snapshot.locking.mode=none',
      'heartbeat.interval.ms=500',
      'include.schema.changes=false',
      'schema.history.internal=io.debezium.storage.file.history.FileSchemaHistory',
      `schema.history.internal.file.filename=${join(this.dir, 'schema-history.dat')}`,
      '',
    ].join('\n');
  }
}

function log4jProperties(file: string): string {
  return [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.FileAppender',
    `log4j.appender.file.File=${file}`,
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    '',
  ].join('\n');
}
