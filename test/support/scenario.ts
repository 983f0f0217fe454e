/**
 * Per-test isolation on the shared servers: every test gets its own schema (same name in every ezone)
 * and its own Kafka topic prefix, and a config file restricted to them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type mysql from 'mysql2/promise';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/loader.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { adminConnection, infra } from './env.js';
import { derive, reportSeedOnFailure, testSeed, type Random } from './random.js';

export { eventually } from './wait.js';

export interface Scenario {
  schema: string;
  prefix: string;
  config: Config;
  /** The same config as a file, for the CLI. */
  configFile: string;
  /** Admin connection per ezone, with the test schema as default database. */
  db: Record<string, mysql.Connection>;
  kafka: Kafka;
  /** The seed of this scenario's workloads (DRC_TEST_SEED or the fixed default; printed on failure). */
  seed: number;
  /** A seeded random stream of its own for each `stream` number (one per ezone, say). */
  random(stream: number): Random;
  close(): Promise<void>;
}

let counter = 0;

/**
 * An administrative connection reading values the way DRC does (UTC, dates as text, exact numbers),
 * so table contents compare equal across ezones; in `schema` when given.
 */
export async function connectEzone(ezone: string, schema?: string): Promise<mysql.Connection> {
  const conn = await adminConnection(ezone, { dateStrings: true, supportBigNumbers: true, bigNumberStrings: false, jsonStrings: true, timezone: 'Z', multipleStatements: true });
  await conn.query("SET time_zone = '+00:00'");
  if (schema) await conn.query(`USE ${schema}`);
  return conn;
}

/**
 * A fresh schema in every ezone, a fresh topic prefix, and a config replicating only that schema.
 * Names and reader ids stay random (they isolate scenarios, also from a previous run's leftovers);
 * the workload's randomness comes from `random`, seeded, so a failing workload can be replayed.
 */
/** The Kafka client of generated configs: `options.kafkaClient`, else DRC_TEST_KAFKA_CLIENT, else the config's default. */
function kafkaClient(chosen: string | undefined): { client?: string } {
  const client = chosen ?? process.env.DRC_TEST_KAFKA_CLIENT;
  return client ? { client } : {};
}

export async function scenario(
  name: string,
  overrides: Record<string, unknown> = {},
  options: { ezones?: string[]; kafkaClient?: 'platformatic' | 'kafkajs' } = {},
): Promise<Scenario> {
  const seed = testSeed();
  reportSeedOnFailure(seed, `scenario ${name}: workload`);
  const id = `${name.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 20)}_${randomBytes(3).toString('hex')}`;
  const schema = `t_${id}`;
  const prefix = `t${++counter}${randomBytes(3).toString('hex')}`;
  const base = loadConfig(infra().config);
  // Every scenario reads binlogs under its own replica ids, so a test never disturbs another's reader.
  const readerBase = 2000 + Math.floor(Math.random() * 1_000_000) * 8;
  // `options.ezones`: a topology of some ezones only (no silent third origin to spoil health or lag).
  const chosen = Object.entries(base.ezones).filter(([name]) => !options.ezones || options.ezones.includes(name));
  const ezones = Object.fromEntries(chosen.map(([name, ez], i) => [name, { ...ez, serverId: readerBase + i }]));
  const raw = {
    ...base,
    ezones,
    kafka: { ...base.kafka, topicPrefix: prefix, ...kafkaClient(options.kafkaClient) },
    replicate: { ...base.replicate, include: [`${schema}.*`] },
    log: { level: process.env.DRC_TEST_DAEMON_LOG_LEVEL ?? 'debug' },
    ...overrides,
  };
  const config = configSchema.parse(raw);
  const dir = mkdtempSync(join(tmpdir(), 'drc-scenario-'));
  const configFile = join(dir, 'drc.yaml');
  writeFileSync(configFile, stringify(config));
  const db: Record<string, mysql.Connection> = {};
  for (const ez of infra().ezones) {
    const conn = await connectEzone(ez.name);
    await conn.query(`CREATE DATABASE ${schema}`);
    await conn.query(`USE ${schema}`);
    db[ez.name] = conn;
  }
  const kafka = new Kafka({ clientId: `test-${prefix}`, brokers: infra().kafka.brokers, logLevel: logLevel.NOTHING });
  return {
    schema,
    prefix,
    config,
    configFile,
    db,
    kafka,
    seed,
    random: (stream) => derive(seed, stream),
    close: async () => {
      for (const conn of Object.values(db)) {
        await conn.query(`DROP DATABASE IF EXISTS ${schema}`).catch(() => undefined);
        await conn.end();
      }
    },
  };
}

export interface ReadMessage {
  offset: string;
  key: string | null;
  value: Buffer;
}

/**
 * Consume a topic from the start (read_committed), handing each message to `onMessage` until it
 * returns true or the timeout passes. Resolves to whether `onMessage` said done.
 */
export async function consumeTopic(kafka: Kafka, topic: string, onMessage: (m: ReadMessage) => boolean, timeoutMs = 60_000): Promise<boolean> {
  const consumer = kafka.consumer({ groupId: `test-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<boolean>((resolve) => {
      let finished = false;
      const timer = setTimeout(() => resolve(false), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (finished) return;
          if (onMessage({ offset: message.offset, key: message.key?.toString() ?? null, value: message.value ?? Buffer.alloc(0) })) {
            finished = true;
            clearTimeout(timer);
            resolve(true);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Read a topic from the start until `done(messages)` holds or the timeout passes; returns what was read. */
export async function readTopic(kafka: Kafka, topic: string, done: (messages: ReadMessage[]) => boolean, timeoutMs = 60_000): Promise<ReadMessage[]> {
  const messages: ReadMessage[] = [];
  await consumeTopic(kafka, topic, (m) => {
    messages.push(m);
    return done(messages);
  }, timeoutMs);
  return messages;
}

/** Insert `rows` rows (id 1..rows, a pad of `padBytes`) in one statement, one transaction. */
export async function insertSeries(conn: mysql.Connection, table: string, rows: number, padBytes: number): Promise<void> {
  if (infra().flavor === 'mariadb') {
    await conn.query(`INSERT INTO ${table} SELECT seq, REPEAT('x', ${padBytes}) FROM seq_1_to_${rows}`);
    return;
  }
  await conn.query(`SET SESSION cte_max_recursion_depth = ${rows + 1}`);
  await conn.query(`INSERT INTO ${table} WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) SELECT i, REPEAT('x', ${padBytes}) FROM n`);
}
