/** The bench's sandbox: fresh every run, two ezones, the `bench` schema and its tables in both. */
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { parseDocument } from 'yaml';
import { createLogger } from '../../src/ops/logger.js';
import { sandboxDown, sandboxUp, type SandboxInfo } from '../../src/sandbox/sandbox.js';
import { DIR } from './options.js';
import { sandboxConnectionOptions } from '../../src/sandbox/admin-account.js';

export const log = createLogger('warn');

const TABLES = [
  'CREATE TABLE bench.drain (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))',
  'CREATE TABLE bench.load_t (id BIGINT PRIMARY KEY, sent_us BIGINT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))',
  'CREATE TABLE bench.mixed (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))',
  'CREATE TABLE bench.big (id INT PRIMARY KEY, pad TEXT NOT NULL)',
  'CREATE TABLE bench.cap (id INT PRIMARY KEY, v VARCHAR(8) NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))',
];

export interface BenchSandbox {
  info: SandboxInfo;
  /** An administrative connection per ezone (a, b). */
  dbs: mysql.Connection[];
  /** Ezone a's binlog position before any phase wrote (where the native replicas start). */
  startPos: string;
}

/** Tear down a previous sandbox, start a fresh one, create the tables. */
export async function setUp(): Promise<BenchSandbox> {
  await sandboxDown({ dir: DIR, log });
  rmSync(join(DIR, 'profiles'), { recursive: true, force: true }); // only this run's
  const info = await sandboxUp({ dir: DIR, ezones: 2, log });
  mkdirSync(DIR, { recursive: true });
  // DRC_BENCH_EXTRA_CONFIG: YAML appended to the topology config, for tuning runs.
  if (process.env.DRC_BENCH_EXTRA_CONFIG) appendFileSync(info.config, `\n${process.env.DRC_BENCH_EXTRA_CONFIG}\n`);
  // DRC_BENCH_KAFKA_CLIENT=kafkajs|platformatic: the daemons' Kafka client (default: the config's default).
  if (process.env.DRC_BENCH_KAFKA_CLIENT) {
    const doc = parseDocument(readFileSync(info.config, 'utf8'));
    doc.setIn(['kafka', 'client'], process.env.DRC_BENCH_KAFKA_CLIENT);
    writeFileSync(info.config, doc.toString());
  }
  const dbs = await Promise.all(info.ezones.map((e) => mysql.createConnection(sandboxConnectionOptions(e.mysql))));
  for (const db of dbs) {
    await db.query('CREATE DATABASE bench');
    for (const ddl of TABLES) await db.query(ddl);
  }
  const [[pos]] = await dbs[0]!.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS p');
  return { info, dbs, startPos: String(pos!.p) };
}

export async function tearDown(sandbox?: BenchSandbox): Promise<void> {
  if (sandbox) await Promise.all(sandbox.dbs.map((d) => d.end().catch(() => undefined)));
  await sandboxDown({ dir: DIR, log });
}
