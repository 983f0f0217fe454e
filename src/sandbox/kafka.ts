import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../ops/logger.js';
import { SandboxError } from '../errors.js';
import { spawnDetached, waitFor } from './processes.js';

const execFileAsync = promisify(execFile);

/** The pinned broker version (KRaft, the last 3.x line; kafkajs 2.2.4 is tested against it). */
export const KAFKA_VERSION = '3.9.1';
const SCALA_VERSION = '2.13';

export interface KafkaSpec {
  /** Folder holding server.properties, the log dirs and the broker's logs. */
  dir: string;
  port: number;
  controllerPort: number;
  clusterId: string;
  /**
   * Fault-injection listener (tests): the broker binds `faultPort` but advertises `faultProxyPort`, so
   * a client that bootstraps through a proxy on that port keeps every connection behind the proxy.
   */
  faultPort?: number;
  faultProxyPort?: number;
  /**
   * `sandbox up --tls`: the broker listens with TLS only — `port` is an SSL listener that requires a
   * client certificate signed by the CA (mTLS; also the inter-broker and fault listeners), `saslPort`
   * a SASL_SSL listener (server-verified TLS + SCRAM-SHA-256/512 and PLAIN, one user). The KRaft controller listener
   * stays plaintext on 127.0.0.1: only the broker itself connects to it.
   */
  tls?: KafkaTlsSpec;
}

export interface KafkaTlsSpec {
  saslPort: number;
  /** CA certificate (PEM): the broker's truststore, and what clients trust. */
  ca: string;
  /** The broker's keystore (PKCS#12) and its password. */
  keystore: string;
  keystorePassword: string;
  /** A client certificate and key (PEM) the sandbox itself connects with. */
  clientCert: string;
  clientKey: string;
  /** The SCRAM user made at format time (both SHA-256 and SHA-512 credentials). */
  scramUser: string;
  scramPassword: string;
}

/** Where downloaded jars are kept, outside the repository: $DRC_CACHE_DIR or ~/.cache/drc. */
export function cacheDir(): string {
  return process.env.DRC_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'drc');
}

/** A random KRaft cluster id (16 bytes, base64url, as `kafka-storage random-uuid` prints). */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id; // a leading dash would be read as an option, as Kafka's own Uuid avoids
  }
}

/**
 * Fetch Apache Kafka's jars (and an slf4j binding for broker logs) from Maven Central into the
 * cache folder, once. Returns the folder holding the jars.
 */
export async function ensureKafkaLibs(mvn: string, log: Logger): Promise<string> {
  const home = join(cacheDir(), `kafka-${KAFKA_VERSION}`);
  const libs = join(home, 'libs');
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith(`kafka_${SCALA_VERSION}-`))) return libs;
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'pom.xml'), pom());
  const staging = join(home, `libs.${process.pid}.tmp`);
  log.info({ version: KAFKA_VERSION, dir: libs }, 'fetching Apache Kafka jars with Maven (first run only)');
  try {
    await execFileAsync(
      mvn,
      ['-B', '-q', '-f', join(home, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime'],
      { maxBuffer: 64 << 20, timeout: 15 * 60_000 },
    );
    rmSync(libs, { recursive: true, force: true });
    renameSync(staging, libs); // atomic: a half-finished download is never taken for the real thing
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    const out = (err as { stdout?: string }).stdout ?? '';
    throw new SandboxError(
      `could not fetch Kafka ${KAFKA_VERSION} jars with Maven (is Maven Central reachable?): ${out.trim().split('\n').slice(-3).join(' ') || (err as Error).message}`,
      { cause: err },
    );
  }
  return libs;
}

function pom(): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>drc.sandbox</groupId>
  <artifactId>kafka-libs</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${SCALA_VERSION}</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;
}

/** Write server.properties (single-node KRaft) and format the storage, once. */
export async function prepareKafka(spec: KafkaSpec, java: string, libs: string): Promise<void> {
  const dataDir = join(spec.dir, 'data');
  mkdirSync(spec.dir, { recursive: true });
  writeFileSync(join(spec.dir, 'server.properties'), serverProperties(spec, dataDir), { mode: 0o600 }); // holds the keystore password with --tls
  writeFileSync(join(spec.dir, 'log4j.properties'), log4jProperties(spec.dir));
  if (existsSync(join(dataDir, 'meta.properties'))) return;
  try {
    await execFileAsync(
      java,
      [...jvmArgs(spec, libs, '256m'), 'kafka.tools.StorageTool', 'format', `--cluster-id=${spec.clusterId}`, '-c', join(spec.dir, 'server.properties'), ...scramArgs(spec)],
      { maxBuffer: 16 << 20 },
    );
  } catch (err) {
    throw new SandboxError(`formatting Kafka storage failed: ${(err as Error).message}`, { cause: err });
  }
}

/** KRaft keeps SCRAM credentials in its metadata log: they are written when the storage is formatted. */
function scramArgs(spec: KafkaSpec): string[] {
  const t = spec.tls;
  if (!t) return [];
  return ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => ['--add-scram', `${m}=[name=${t.scramUser},password=${t.scramPassword}]`]);
}

function serverProperties(spec: KafkaSpec, dataDir: string): string {
  return spec.tls ? tlsServerProperties(spec, spec.tls, dataDir) : plainServerProperties(spec, dataDir);
}

function tlsServerProperties(spec: KafkaSpec, t: KafkaTlsSpec, dataDir: string): string {
  const fault = spec.faultPort && spec.faultProxyPort;
  const lines = plainServerProperties(spec, dataDir)
    .split('\n')
    .filter((l) => !/^(listeners|advertised\.listeners|inter\.broker\.listener\.name|listener\.security\.protocol\.map)=/.test(l));
  const scram = (m: string) => `listener.name.sasl_ssl.${m}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`;
  return [
    `listeners=SSL://127.0.0.1:${spec.port},SASL_SSL://127.0.0.1:${t.saslPort},CONTROLLER://127.0.0.1:${spec.controllerPort}${fault ? `,FAULT://127.0.0.1:${spec.faultPort}` : ''}`,
    `advertised.listeners=SSL://127.0.0.1:${spec.port},SASL_SSL://127.0.0.1:${t.saslPort}${fault ? `,FAULT://127.0.0.1:${spec.faultProxyPort}` : ''}`,
    'inter.broker.listener.name=SSL',
    `listener.security.protocol.map=SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT${fault ? ',FAULT:SSL' : ''}`,
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${t.keystore}`,
    `ssl.keystore.password=${t.keystorePassword}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${t.ca}`,
    'ssl.client.auth=required',
    'listener.name.sasl_ssl.ssl.client.auth=none',
    'ssl.endpoint.identification.algorithm=https',
    'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN',
    scram('scram-sha-256'),
    scram('scram-sha-512'),
    // PLAIN: the same user and password, kept in the broker's JAAS line (PLAIN has no credential store).
    `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${t.scramUser}="${t.scramPassword}";`,
    ...lines,
  ].join('\n');
}

function plainServerProperties(spec: KafkaSpec, dataDir: string): string {
  const fault = spec.faultPort && spec.faultProxyPort;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${spec.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${spec.port},CONTROLLER://127.0.0.1:${spec.controllerPort}${fault ? `,FAULT://127.0.0.1:${spec.faultPort}` : ''}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${spec.port}${fault ? `,FAULT://127.0.0.1:${spec.faultProxyPort}` : ''}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${fault ? ',FAULT:PLAINTEXT' : ''}`,
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    // DRC creates its own topics; a typo in a topic name must not silently create one.
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=4',
    // A transaction open past its timeout is aborted within a second (default: a sweep every 10 s), so a
    // test with a short kafka.transactionTimeout sees the broker's abort soon.
    'transaction.abort.timed.out.transaction.cleanup.interval.ms=1000',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    'log.segment.bytes=268435456',
    '',
  ].join('\n');
}

function log4jProperties(dir: string): string {
  return [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.RollingFileAppender',
    `log4j.appender.file.File=${join(dir, 'server.log')}`,
    'log4j.appender.file.MaxFileSize=20MB',
    'log4j.appender.file.MaxBackupIndex=2',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.request.logger=WARN',
    'log4j.logger.org.apache.kafka.controller=WARN',
    '',
  ].join('\n');
}

function jvmArgs(spec: KafkaSpec, libs: string, heap: string): string[] {
  return [
    `-Xmx${heap}`,
    `-Xms${heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(spec.dir, 'log4j.properties')}`,
    '-cp',
    `${libs}/*`,
  ];
}

/** Start the broker in the background (small heap); returns its pid. */
export function startKafka(spec: KafkaSpec, java: string, libs: string): number {
  return spawnDetached(java, [...jvmArgs(spec, libs, '512m'), 'kafka.Kafka', join(spec.dir, 'server.properties')], join(spec.dir, 'stdout.log'));
}

/**
 * A kafkajs client of the sandbox itself (with the client certificate on a --tls sandbox). kafkajs is
 * loaded here, when a sandbox starts, not when the CLI does: every `drc run` loads this module (the
 * CLI registers `drc sandbox`), and a daemon on @platformatic/kafka would carry kafkajs for nothing
 * (measured on Node 24: `drc --version`: RSS 97 MB before, 92 MB after).
 */
async function sandboxClient(spec: KafkaSpec, retries: number): Promise<Kafka> {
  const [{ Kafka, logLevel }] = await Promise.all([import('kafkajs'), import('../transport/kafka/kafkajs-patches.js')]);
  const ssl = spec.tls ? { ca: readFileSync(spec.tls.ca, 'utf8'), cert: readFileSync(spec.tls.clientCert, 'utf8'), key: readFileSync(spec.tls.clientKey, 'utf8') } : undefined;
  return new Kafka({ clientId: 'drc-sandbox', brokers: [`127.0.0.1:${spec.port}`], ...(ssl ? { ssl } : {}), logLevel: logLevel.NOTHING, retry: { retries } });
}

/**
 * On a freshly formatted broker, create and load the consumer-offsets topic by describing a group
 * (FindCoordinator creates it): otherwise the first daemons' consumers meet "the coordinator is
 * loading" while it is made.
 */
export async function warmGroupCoordinator(spec: KafkaSpec, timeoutMs = 60_000): Promise<void> {
  const admin = (await sandboxClient(spec, 0)).admin();
  await admin.connect();
  try {
    await waitFor('the Kafka group coordinator', timeoutMs, async () => {
      const { groups } = await admin.describeGroups(['drc-sandbox-warmup']);
      return groups.length > 0 ? true : undefined;
    }, 500);
  } finally {
    await admin.disconnect();
  }
}

/** Wait until the broker answers metadata requests. */
export async function waitKafkaReady(spec: KafkaSpec, isAlive: () => boolean, timeoutMs = 90_000): Promise<void> {
  const kafka = await sandboxClient(spec, 0);
  await waitFor(`Kafka broker on port ${spec.port} (log: ${join(spec.dir, 'server.log')})`, timeoutMs, async () => {
    if (!isAlive()) throw new SandboxError(`the Kafka process exited; see ${join(spec.dir, 'stdout.log')}`);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 ? true : undefined;
    } finally {
      await admin.disconnect();
    }
  }, 500);
}
