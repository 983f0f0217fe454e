import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../ops/logger.js';
import { UsageError } from '../errors.js';
import { bootstrapMariaDb, dataDirOf, initMariaDb, startMariaDb, waitMariaDbReady, type MariaDbSpec } from './mariadb.js';
import { ensurePki, newSecret, pkiOf } from './certs.js';
import { ensureKafkaLibs, newClusterId, prepareKafka, startKafka, waitKafkaReady, warmGroupCoordinator, type KafkaSpec } from './kafka.js';
import { ensurePrerequisites, KAFKA_TOOLS, MARIADB_SERVER } from './prerequisites.js';
import { freePort, isPortOpen } from './ports.js';
import { isRunning, stopProcess, waitFor } from './processes.js';
import { configFile, readState, stateFile, writeState, type SandboxState } from './state.js';
import { renderTopologyConfig } from './topology.js';

export const DEFAULT_SANDBOX_DIR = '.drc-sandbox';
export const DEFAULT_EZONES = 2;

/**
 * What `drc sandbox up --json` prints (DESIGN.md section 9). With `--tls` the shape is the same, plus:
 * each `mysql` entry's `ca` (the admin account connects over TLS, verifying the server against it,
 * without a client certificate), and `kafka.tls` (the CA and the client certificate the SSL listener
 * requires) and `kafka.sasl` (the SASL_SSL listener and its SCRAM user).
 */
export interface SandboxInfo {
  config: string;
  ezones: { name: string; mysql: { host: string; port: number; user: string; password: string; ca?: string } }[];
  kafka: {
    brokers: string[];
    fault?: { listenerPort: number; proxyPort: number };
    tls?: { ca: string; cert: string; key: string };
    sasl?: { brokers: string[]; mechanisms: string[]; username: string; password: string };
  };
}

/** What `drc sandbox status --json` prints. */
export interface SandboxStatus {
  dir: string;
  running: boolean;
  ezones: { name: string; port: number; pid: number | null; running: boolean }[];
  kafka: { port: number; pid: number | null; running: boolean } | null;
}

/** The marker that identifies our process in its command line (its data folder). */
const mariaMarker = (ez: MariaDbSpec) => dataDirOf(ez);
const kafkaMarker = (k: KafkaSpec) => join(k.dir, 'server.properties');

/** Ezone names: a, b, c, … */
export const ezoneNameAt = (i: number) => String.fromCharCode(97 + i);

/**
 * Start (or keep running) N MariaDB servers and one Kafka broker, write `<dir>/drc.yaml`.
 * Idempotent: what already runs is kept, what died is restarted on its data.
 */
export async function sandboxUp(options: { dir?: string; ezones?: number; tls?: boolean; log: Logger }): Promise<SandboxInfo> {
  const dir = resolve(options.dir ?? DEFAULT_SANDBOX_DIR);
  const log = options.log;
  mkdirSync(dir, { recursive: true });
  const previous = readState(dir);
  const count = options.ezones ?? previous?.ezones.length ?? DEFAULT_EZONES;
  if (count < 1 || count > 26) throw new UsageError('--ezones must be between 1 and 26');
  if (previous && previous.ezones.length !== count) {
    throw new UsageError(
      `the sandbox in ${dir} has ${previous.ezones.length} ezones, not ${count} — run \`drc sandbox down --dir ${dir}\` first`,
    );
  }
  if (previous && options.tls !== undefined && Boolean(previous.tls) !== options.tls) {
    throw new UsageError(`the sandbox in ${dir} runs ${previous.tls ? 'with' : 'without'} TLS — run \`drc sandbox down --dir ${dir}\` first`);
  }
  const state = previous ?? (await newState(dir, count, options.tls ?? false));
  writeState(dir, state);
  if (state.tls) await ensurePki(state.tls.pki.dir, state.tls.pki.keystorePassword);

  const mariaBins = ensurePrerequisites(MARIADB_SERVER, log);
  const kafkaBins = ensurePrerequisites(KAFKA_TOOLS, log);
  const mariadbd = mariaBins.mariadbd as string;
  const java = kafkaBins.java as string;

  const startEzone = async (ez: SandboxState['ezones'][number]) => {
    if (isRunning(ez.pid, mariaMarker(ez))) return;
    await withPortRetry(async () => {
      if (await isPortOpen(ez.port)) ez.port = await freePort();
      ez.pid = startMariaDb(ez, mariadbd);
      writeState(dir, state);
      const pid = ez.pid;
      await waitMariaDbReady(ez, () => isRunning(pid, mariaMarker(ez)));
    }, async () => {
      ez.port = await freePort();
    });
    await bootstrapMariaDb(ez, state);
    log.info({ ezone: ez.name, port: ez.port, serverPid: ez.pid }, 'MariaDB started');
  };
  const startBroker = async () => {
    const k = state.kafka;
    if (isRunning(k.pid, kafkaMarker(k))) return;
    const libs = await ensureKafkaLibs(kafkaBins.mvn as string, log);
    const newPorts = async () => {
      k.port = await freePort();
      k.controllerPort = await freePort();
      k.faultPort = await freePort();
      if (k.tls) k.tls.saslPort = await freePort();
    };
    await withPortRetry(async () => {
      if ((await isPortOpen(k.port)) || (await isPortOpen(k.controllerPort)) || (k.tls && (await isPortOpen(k.tls.saslPort)))) await newPorts();
      await prepareKafka(k, java, libs);
      k.pid = startKafka(k, java, libs);
      writeState(dir, state);
      const pid = k.pid;
      await waitKafkaReady(k, () => isRunning(pid, kafkaMarker(k)));
    }, newPorts);
    await warmGroupCoordinator(k);
    log.info({ port: k.port, serverPid: k.pid }, 'Kafka broker started');
  };
  // mariadb-install-db runs one at a time (concurrent runs can collide); servers then start in parallel.
  const installDb = mariaBins['mariadb-install-db'] as string;
  for (const ez of state.ezones) if (!isRunning(ez.pid, mariaMarker(ez))) await initMariaDb(ez, installDb);
  const results = await Promise.allSettled([...state.ezones.map(startEzone), startBroker()]);
  writeState(dir, state);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;

  const config = configFile(dir);
  const tls = state.tls;
  writeFileSync(
    config,
    renderTopologyConfig(
      {
        kafkaBrokers: [`127.0.0.1:${state.kafka.port}`],
        drcUser: state.drcUser,
        drcPassword: state.drcPassword,
        flavor: 'mariadb',
        ezones: state.ezones.map((ez) => ({ name: ez.name, host: '127.0.0.1', port: ez.port, serverId: ez.serverId })),
        ...(tls
          ? {
              tls: { ca: tls.pki.ca, cert: tls.pki.clientCert, key: tls.pki.clientKey },
              drcPasswordFile: writeSecret(dir, 'drc-mysql-password', state.drcPassword),
            }
          : {}),
      },
      `\`drc sandbox up${tls ? ' --tls' : ''}\`: the local sandbox topology (private MariaDB servers and one Kafka broker${tls ? ', TLS only' : ''})`,
    ),
    { mode: 0o600 },
  );
  const k = state.kafka;
  return {
    config,
    ezones: state.ezones.map((ez) => ({
      name: ez.name,
      mysql: { host: '127.0.0.1', port: ez.port, user: state.adminUser, password: state.adminPassword, ...(tls ? { ca: tls.pki.ca } : {}) },
    })),
    kafka: {
      brokers: [`127.0.0.1:${k.port}`],
      ...(k.faultPort && k.faultProxyPort ? { fault: { listenerPort: k.faultPort, proxyPort: k.faultProxyPort } } : {}),
      ...(k.tls
        ? {
            tls: { ca: k.tls.ca, cert: k.tls.clientCert, key: k.tls.clientKey },
            sasl: { brokers: [`127.0.0.1:${k.tls.saslPort}`], mechanisms: ['scram-sha-256', 'scram-sha-512', 'plain'], username: k.tls.scramUser, password: k.tls.scramPassword },
          }
        : {}),
    },
  };
}

/** A secret in `<dir>/secrets/<name>` (mode 0600), for configs that read it with passwordFile. */
function writeSecret(dir: string, name: string, value: string): string {
  const secrets = join(dir, 'secrets');
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  const file = join(secrets, name);
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return file;
}

/**
 * Run a server start; if the server died (e.g. its port was taken between choosing and binding it),
 * choose new ports and try again, up to three times.
 */
async function withPortRetry(start: () => Promise<void>, newPorts: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 3 || !/exited/.test((err as Error).message)) throw err;
      await newPorts();
    }
  }
}

async function newState(dir: string, count: number, tls: boolean): Promise<SandboxState> {
  const pki = pkiOf(join(dir, 'tls'), newSecret());
  const serverTls = tls ? { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey } : undefined;
  const ezones: SandboxState['ezones'] = [];
  for (let i = 0; i < count; i++) {
    const name = ezoneNameAt(i);
    ezones.push({ name, dir: join(dir, 'ezones', name), port: await freePort(), serverId: i + 1, autoIncrementIncrement: count, ...(serverTls ? { tls: serverTls } : {}) });
  }
  const kafkaTls = tls
    ? {
        saslPort: await freePort(),
        ca: pki.ca,
        keystore: pki.keystore,
        keystorePassword: pki.keystorePassword,
        clientCert: pki.clientCert,
        clientKey: pki.clientKey,
        scramUser: 'drc',
        scramPassword: newSecret(),
      }
    : undefined;
  return {
    ...(tls ? { tls: { pki } } : {}),
    version: 1,
    adminUser: 'root',
    adminPassword: randomBytes(12).toString('hex'),
    drcUser: 'drc',
    drcPassword: randomBytes(12).toString('hex'),
    ezones,
    kafka: {
      dir: join(dir, 'kafka'),
      port: await freePort(),
      controllerPort: await freePort(),
      clusterId: newClusterId(),
      faultPort: await freePort(),
      faultProxyPort: await freePort(),
      ...(kafkaTls ? { tls: kafkaTls } : {}),
    },
  };
}

/** What runs, with pids. */
export async function sandboxStatus(options: { dir?: string }): Promise<SandboxStatus> {
  const dir = resolve(options.dir ?? DEFAULT_SANDBOX_DIR);
  const state = readState(dir);
  if (!state) return { dir, running: false, ezones: [], kafka: null };
  const ezones = state.ezones.map((ez) => {
    const running = isRunning(ez.pid, mariaMarker(ez));
    return { name: ez.name, port: ez.port, pid: running ? (ez.pid ?? null) : null, running };
  });
  const kRunning = isRunning(state.kafka.pid, kafkaMarker(state.kafka));
  const kafka = { port: state.kafka.port, pid: kRunning ? (state.kafka.pid ?? null) : null, running: kRunning };
  return { dir, running: kRunning && ezones.every((e) => e.running), ezones, kafka };
}

/** Stop everything the sandbox started, wait until its ports are free, delete its data. */
export async function sandboxDown(options: { dir?: string; log: Logger }): Promise<{ dir: string; stopped: number }> {
  const dir = resolve(options.dir ?? DEFAULT_SANDBOX_DIR);
  const state = readState(dir);
  if (!state) return { dir, stopped: 0 };
  const targets = [
    ...state.ezones.map((ez) => ({ pid: ez.pid, marker: mariaMarker(ez), ports: [ez.port] })),
    { pid: state.kafka.pid, marker: kafkaMarker(state.kafka), ports: [state.kafka.port, state.kafka.controllerPort, ...(state.kafka.tls ? [state.kafka.tls.saslPort] : [])] },
  ];
  let stopped = 0;
  await Promise.all(
    targets.map(async (t) => {
      if (t.pid && isRunning(t.pid, t.marker)) {
        await stopProcess(t.pid, t.marker);
        stopped++;
      }
      for (const port of t.ports) {
        await waitFor(`port ${port} to close`, 15_000, async () => ((await isPortOpen(port, 300)) ? undefined : true));
      }
    }),
  );
  for (const sub of ['ezones', 'kafka', 'drc.yaml', 'tls', 'secrets']) rmSync(join(dir, sub), { recursive: true, force: true });
  rmSync(stateFile(dir), { force: true });
  options.log.info({ dir, stopped }, 'sandbox stopped');
  return { dir, stopped };
}

/**
 * Restart one server of a running sandbox on the same port and data (for fault tests): a MariaDB of an
 * ezone, or the Kafka broker. `downMs` keeps it stopped that long first.
 */
export async function restartServer(options: { dir?: string; server: string; downMs?: number; log: Logger }): Promise<void> {
  const dir = resolve(options.dir ?? DEFAULT_SANDBOX_DIR);
  const state = readState(dir);
  if (!state) throw new UsageError(`no sandbox in ${dir}`);
  if (options.server === 'kafka') {
    const k = state.kafka;
    if (k.pid) await stopProcess(k.pid, kafkaMarker(k));
    await new Promise((r) => setTimeout(r, options.downMs ?? 0));
    const kafkaBins = ensurePrerequisites(KAFKA_TOOLS, options.log);
    const libs = await ensureKafkaLibs(kafkaBins.mvn as string, options.log);
    k.pid = startKafka(k, kafkaBins.java as string, libs);
    writeState(dir, state);
    const pid = k.pid;
    await waitKafkaReady(k, () => isRunning(pid, kafkaMarker(k)));
    return;
  }
  const ez = state.ezones.find((e) => e.name === options.server);
  if (!ez) throw new UsageError(`no server ${options.server} in the sandbox (ezones: ${state.ezones.map((e) => e.name).join(', ')}, or kafka)`);
  if (ez.pid) await stopProcess(ez.pid, mariaMarker(ez));
  await new Promise((r) => setTimeout(r, options.downMs ?? 0));
  const bins = ensurePrerequisites(MARIADB_SERVER, options.log);
  ez.pid = startMariaDb(ez, bins.mariadbd as string);
  writeState(dir, state);
  const pid = ez.pid;
  await waitMariaDbReady(ez, () => isRunning(pid, mariaMarker(ez)));
}
