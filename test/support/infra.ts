/**
 * The servers every integration test talks to, started once per run by the global setup:
 * - default: the project's own sandbox (private MariaDB instances + Kafka from its jars);
 * - DRC_TEST_INFRA=containers: MySQL 8.4 and Kafka containers via testcontainers, where a Docker
 *   engine exists; elsewhere the run reports "skipped: no Docker".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import type { Logger } from '../../src/ops/logger.js';
import { sandboxDown, sandboxUp } from '../../src/sandbox/sandbox.js';
import { renderTopologyConfig } from '../../src/sandbox/topology.js';
import { accountStatements } from '../../src/sandbox/mariadb.js';

export interface TestInfra {
  /** Set when the servers could not be provided; the reason is printed and suites are skipped. */
  skipped?: string;
  mode: 'local' | 'containers';
  flavor: 'mariadb' | 'mysql';
  /** Topology config (drc.yaml) for these servers. */
  config: string;
  ezones: { name: string; mysql: { host: string; port: number; user: string; password: string } }[];
  /** `fault`: the broker's fault-injection listener (local sandbox only; see src/sandbox/kafka.ts). */
  kafka: { brokers: string[]; fault?: { listenerPort: number; proxyPort: number } };
}

export const TEST_EZONES = 3;
export const TEST_SANDBOX_DIR = resolve(process.env.DRC_TEST_SANDBOX_DIR ?? '.test-sandbox');
/** Where the child processes of the tests log (one file each; emptied at the start of a run). */
export const DAEMON_LOG_DIR = join(TEST_SANDBOX_DIR, 'daemon-logs');

export async function startInfra(log: Logger): Promise<{ infra: TestInfra; stop: () => Promise<void> }> {
  if (process.env.DRC_TEST_INFRA === 'containers') return startContainers();
  const info = await sandboxUp({ dir: TEST_SANDBOX_DIR, ezones: TEST_EZONES, log });
  const keep = process.env.DRC_TEST_KEEP_SANDBOX === '1';
  return {
    infra: { mode: 'local', flavor: 'mariadb', ...info },
    stop: async () => {
      if (!keep) await sandboxDown({ dir: TEST_SANDBOX_DIR, log });
    },
  };
}

async function startContainers(): Promise<{ infra: TestInfra; stop: () => Promise<void> }> {
  const tc = await import('testcontainers');
  try {
    await tc.getContainerRuntimeClient();
  } catch {
    const skipped = 'skipped: no Docker';
    return { infra: { skipped, mode: 'containers', flavor: 'mysql', config: '', ezones: [], kafka: { brokers: [] } }, stop: async () => {} };
  }
  const { MySqlContainer } = await import('@testcontainers/mysql');
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const rootPassword = 'drc-test-root';
  const accounts = { adminUser: 'root', adminPassword: rootPassword, drcUser: 'drc', drcPassword: 'drc-test' };
  const mysqls = await Promise.all(
    Array.from({ length: TEST_EZONES }, (_, i) =>
      new MySqlContainer('mysql:8.4')
        .withRootPassword(rootPassword)
        .withCommand([
          `--server-id=${i + 1}`,
          '--log-bin=binlog',
          '--binlog-format=ROW',
          '--binlog-row-image=FULL',
          '--binlog-row-metadata=FULL',
          '--gtid-mode=ON',
          '--enforce-gtid-consistency=ON',
          `--auto-increment-increment=${TEST_EZONES}`,
          `--auto-increment-offset=${i + 1}`,
          '--default-time-zone=+00:00',
        ])
        .start(),
    ),
  );
  const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.7.1').withKraft().start();
  for (const c of mysqls) {
    for (const sql of accountStatements(accounts).filter((s) => !s.startsWith('DROP USER'))) {
      await c.executeQuery(sql);
    }
  }
  const ezones = mysqls.map((c, i) => ({
    name: String.fromCharCode(97 + i),
    mysql: { host: c.getHost(), port: c.getPort(), user: 'root', password: rootPassword },
  }));
  const brokers = [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`];
  const dir = resolve('.test-containers');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'drc.yaml');
  writeFileSync(
    config,
    renderTopologyConfig(
      {
        kafkaBrokers: brokers,
        drcUser: accounts.drcUser,
        drcPassword: accounts.drcPassword,
        flavor: 'mysql',
        ezones: ezones.map((e, i) => ({ name: e.name, host: e.mysql.host, port: e.mysql.port, serverId: i + 1 })),
      },
      'the test suite (testcontainers)',
    ),
  );
  return {
    infra: { mode: 'containers', flavor: 'mysql', config, ezones, kafka: { brokers } },
    stop: async () => {
      await Promise.all([...mysqls.map((c) => c.stop()), kafka.stop()]);
    },
  };
}
