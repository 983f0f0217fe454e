/**
 * The write guard's cost (`drc guard install`, issue 17): single-row autocommit INSERTs into a
 * hash-sharded table of one ezone, by `--writers` connections for `--seconds` each, without the guard
 * triggers and then with them (every insert then reads its shard's routing row with a locking read).
 *
 *   npx tsc -p bench/tsconfig.json && ADMIN_PW=… node dist-bench/bench/guard-cost.js \
 *     --config .drc-sandbox/drc.yaml --user root --password-env ADMIN_PW [--ezone a] [--writers 4] [--seconds 10]
 *
 * Prints one JSON document: inserts per second without and with the guard, and the ratio. Nothing
 * replicates (no daemon needed): the table lives in a schema of its own, dropped at the end.
 */
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { runGuard } from '../src/admin/guard.js';
import { loadConfig } from '../src/config/loader.js';
import { configSchema } from '../src/config/schema.js';
import { connectionOptions } from '../src/db/connect.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    ezone: { type: 'string' },
    user: { type: 'string' },
    'password-env': { type: 'string' },
    writers: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '10' },
  },
});
if (!values.config || !values.user || !values['password-env']) throw new Error('usage: --config F --user U --password-env VAR [--ezone A] [--writers N] [--seconds S]');
const account = { user: values.user, password: process.env[values['password-env']] ?? '' };
const base = loadConfig(values.config);
const ezone = values.ezone ?? Object.keys(base.ezones)[0]!;
const schema = `guard_bench_${Date.now().toString(36)}`;
const table = `${schema}.orders`;
const shardCount = 1024;
// This ezone owns every shard: the guard lets every insert through, so what is measured is its cost.
const config = configSchema.parse({
  ...base,
  ezones: { [ezone]: base.ezones[ezone] },
  kafka: { ...base.kafka, topicPrefix: schema },
  ownership: { shardCount, routing: [{ shards: `0-${shardCount - 1}`, ezone }], tables: { [table]: { function: 'hash', column: 'user_id' } } },
});
const options = { ...connectionOptions(config.ezones[ezone]!.mysql), ...account };
const writers = Number(values.writers);
const seconds = Number(values.seconds);

async function measure(label: string, idBase: number): Promise<number> {
  const conns = await Promise.all(Array.from({ length: writers }, () => mysql.createConnection(options)));
  const end = Date.now() + seconds * 1000;
  const counts = await Promise.all(
    conns.map(async (conn, w) => {
      let n = 0;
      while (Date.now() < end) {
        const id = idBase + w * 10_000_000 + n;
        await conn.query(`INSERT INTO ${table} (id, user_id, amount) VALUES (?, ?, ?)`, [id, id % 100_000, n]);
        n++;
      }
      await conn.end();
      return n;
    }),
  );
  const perSec = counts.reduce((a, b) => a + b, 0) / seconds;
  process.stderr.write(`${label}: ${Math.round(perSec)} inserts/s\n`);
  return perSec;
}

const admin = await mysql.createConnection(options);
try {
  await admin.query(`CREATE DATABASE ${schema}`);
  await admin.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, user_id INT NOT NULL, amount INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))`);
  const without = await measure('without the guard', 0);
  const report = await runGuard(config, 'install', { ezone, account });
  if (!report.ok) throw new Error(`guard install failed: ${JSON.stringify(report)}`);
  const withGuard = await measure('with the guard', 1_000_000_000);
  process.stdout.write(
    `${JSON.stringify({ ezone, writers, seconds, shardCount, insertsPerSecWithout: Math.round(without), insertsPerSecWith: Math.round(withGuard), ratio: Number((withGuard / without).toFixed(3)) }, null, 2)}\n`,
  );
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${schema}`).catch(() => undefined);
  await admin.query('DELETE FROM drc_meta.routing WHERE topology = ?', [schema]).catch(() => undefined);
  await admin.end();
}
