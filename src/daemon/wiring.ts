/**
 * Wires config → stages: the only place (with cli/) that knows capture, apply and the Kafka
 * transport together. The config arrives frozen; each part gets the slice it reads (Kafka settings,
 * the heartbeat interval, the tombstone retention). Capture and the appliers still take the whole
 * config until their dependencies are narrowed (capture/, apply/).
 */
import type { PoolConnection } from 'mysql2/promise';
import { Applier } from '../apply/applier.js';
import { expectWaitingChildren, purgeWaitingStatement } from '../apply/fk-waiting.js';
import { LockYield } from '../apply/lock-yield.js';
import type { ConflictRecord } from '../apply/sql/meta.js';
import { ezoneOf } from '../config/loader.js';
import type { Config, KafkaConfig } from '../config/schema.js';
import { Capture } from '../capture/capture.js';
import { createPool, detectFlavor } from '../db/connect.js';
import type { DeferredStatement } from '../db/sql.js';
import { purgeTombstones } from '../db/tombstones.js';
import { purgeClaimsStatement } from '../apply/sql/claims.js';
import { LocalClaimRecorder } from '../apply/unique-claims-recorder.js';
import { versionColumnOf } from '../config/tables.js';
import { Heartbeat } from './heartbeat.js';
import { isFinalChunk } from '../model/envelope.js';
import { Ownership } from '../model/ownership.js';
import { RoutingBook } from '../model/routing.js';
import { latestSwitchover, openRouting, peerRoutingOf, readForcedFlips, readRouting, scopeOf } from '../db/routing-store.js';
import type { RoutingStatus } from '../ops/metrics.js';
import type { KafkaTransport, StoredMessage, TopicSpec } from '../model/ports.js';
import { changesTopic, conflictsTopic, deadLetterTopic, notifyTopic, routingTopic } from '../model/topics.js';
import type { Logger } from '../ops/logger.js';
import { createTransport } from '../transport/select.js';
import { openCapturePublisher } from './capture-producer.js';

/** The topics an ezone's daemon writes to; created when missing. */
export function ownTopics(kafka: KafkaConfig, ezone: string): TopicSpec[] {
  const { topicPrefix: prefix, replicationFactor, notifyPartitions, maxMessageBytes } = kafka;
  // Room for one message plus record overhead (the default 1 MB does). Every topic: publishers group
  // small messages (notifications, conflicts) into record batches of up to maxMessageBytes too.
  const maxBytes = { 'max.message.bytes': String(Math.max(maxMessageBytes + 65_536, 1_048_588)) };
  return [
    // One partition: the whole order of an origin's transactions is kept.
    { topic: changesTopic(prefix, ezone), partitions: 1, replicationFactor, config: maxBytes },
    { topic: notifyTopic(prefix, ezone), partitions: notifyPartitions, replicationFactor, config: maxBytes },
    { topic: deadLetterTopic(prefix, ezone), partitions: 1, replicationFactor, config: maxBytes },
    { topic: conflictsTopic(prefix), partitions: 1, replicationFactor, config: maxBytes },
  ];
}

export interface Running {
  capture: Capture;
  /** Drain and release everything. */
  close(): Promise<void>;
}

export interface Daemon extends Running {
  ezone: string;
  /** The routing in force in this ezone's database (drc_meta.routing), refreshed every ROUTING_REFRESH_MS. */
  routing: RoutingBook;
  /** Its version, bans and the newest switchover, for /metrics and /healthz. */
  routingStatus(): RoutingStatus;
  /** One applier per remote origin. */
  appliers: Map<string, Applier>;
  startedAt: number;
}

/** Start capture for one ezone: topics, fenced transactional producer, resume from Kafka. */
export async function startCapture(
  config: Config,
  ezone: string,
  log: Logger,
  ha?: { register: { ezone: string; owner: string }; verify: () => Promise<void> },
): Promise<Running> {
  const register = ha?.register;
  const ez = ezoneOf(config, ezone);
  const kafka = await createTransport(config.kafka, { brokers: ez.kafka?.brokers, clientId: `${config.kafka.clientId}-${ezone}`, log });
  await kafka.ensureTopics(ownTopics(config.kafka, ezone));
  const topic = changesTopic(config.kafka.topicPrefix, ezone);
  const publisher = await openCapturePublisher(kafka, config.kafka, ezone, log);
  const pool = createPool(ez.mysql, 4, register ? { register } : {});
  let routing: RoutingBook;
  try {
    routing = await openRouting(pool, scopeOf(config), peerRoutingOf(config, ezone));
  } catch (err) {
    await publisher.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw err;
  }
  const capture = new Capture({
    routing,
    ezone,
    config: { capture: config.capture, kafka: config.kafka, ownership: config.ownership, supervision: config.supervision, replicate: config.replicate, tables: config.tables },
    server: { mysql: ez.mysql, serverId: ez.serverId },
    log,
    pool,
    publisher,
    lastPublished: () => kafka.lastCommittedMatching(topic, (m) => isFinalChunk(m.value)),
    ...(ha ? { fence: ha.verify } : {}),
    releases: new LocalClaimRecorder(pool, ezone, (schema, table) => versionColumnOf(config, schema, table)),
  });
  try {
    await capture.start();
  } catch (err) {
    await publisher.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw err;
  }
  return {
    capture,
    close: async () => {
      await capture.stop();
      await publisher.close();
      await pool.end();
    },
  };
}

/**
 * The conflict report published on `<prefix>.conflicts`. A report whose row images would not fit one
 * message (`maxBytes`: rows of several MB) goes without them (`imagesOmitted`); drc_meta.conflicts
 * keeps them.
 */
export function conflictMessage(r: ConflictRecord, maxBytes = Number.MAX_SAFE_INTEGER): { key: string; value: Buffer } {
  const whole = conflictReport(r);
  if (whole.key.length + whole.value.length + 1024 <= maxBytes) return whole;
  return conflictReport({ ...r, incoming: null, local: null }, true);
}

function conflictReport(r: ConflictRecord, imagesOmitted = false): { key: string; value: Buffer } {
  const table = `${r.schema}.${r.table}`;
  return {
    key: `${table}:${JSON.stringify(r.key)}`,
    value: Buffer.from(
      JSON.stringify({
        ...(imagesOmitted ? { imagesOmitted } : {}),
        ezone: r.ezone,
        origin: r.origin,
        table,
        key: r.key,
        reason: r.reason,
        decision: r.decision,
        at: new Date(r.at).toISOString(),
        incomingVersion: r.incomingVersion,
        localVersion: r.localVersion,
        incoming: r.incoming,
        local: r.local,
        originTx: r.originTx,
      }),
    ),
  };
}

/**
 * The daemon of one ezone: capture, and apply from every other ezone. Apply waits on capture for
 * tombstone coverage (DESIGN.md section 5 rule 4), so both run in one process.
 */
export async function startDaemon(
  config: Config,
  ezone: string,
  log: Logger,
  options: {
    fence?: { check(conn: PoolConnection): Promise<void>; statement(): DeferredStatement; verify(): Promise<void>; owner: string };
    /** How often drc_meta.routing is re-read (default ROUTING_REFRESH_MS; tests lengthen it to show what does not depend on it). */
    routingRefreshMs?: number;
  } = {},
): Promise<Daemon> {
  const register = options.fence ? { ezone, owner: options.fence.owner } : undefined;
  const ez = ezoneOf(config, ezone);
  const prefix = config.kafka.topicPrefix;
  const kafkaFor = kafkaClients(config, ezone, log);
  for (const name of Object.keys(config.ezones)) await (await kafkaFor(name)).ensureTopics(ownTopics(config.kafka, name));
  // `<prefix>.routing` (drc switchover publishes on it), on the topology's Kafka: created here too, so
  // the TypeScript guard's processes only read it (guard/routing-guard.ts, no create rights needed).
  await (await kafkaFor(undefined)).ensureTopics([{ topic: routingTopic(prefix), partitions: 1, replicationFactor: config.kafka.replicationFactor }]);

  const running = await startCapture(config, ezone, log, register && options.fence ? { register, verify: () => options.fence!.verify() } : undefined);
  const events = (await kafkaFor(ezone)).eventPublisher(config.kafka.maxMessageBytes + 4096);
  const appliers = new Map<string, Applier>();
  // Heartbeat and tombstone purge share a small pool; every pool talks to the same server, whose
  // flavour is detected once.
  const metaPool = createPool(ez.mysql, 2, register ? { register } : {});
  const pools: ReturnType<typeof createPool>[] = [metaPool];
  let flavor: 'mariadb' | 'mysql' = 'mariadb';
  let routing = new RoutingBook();
  try {
    flavor = ez.mysql.flavor === 'auto' ? await detectFlavor(metaPool) : ez.mysql.flavor;
    await events.connect();
    routing = await openRouting(metaPool, scopeOf(config), peerRoutingOf(config, ezone));
    const ownership = new Ownership(config.ownership, { routing, mode: 'incoming', topology: prefix });
    const origins = Object.keys(config.ezones).sort();
    const yields = new LockYield(); // shared by this ezone's appliers (apply/lock-yield.ts)
    expectWaitingChildren(ezone); // children waiting for a deleted parent from an earlier run (apply/fk-waiting.ts)
    for (const origin of origins) {
      if (origin === ezone) continue;
      const pool = createPool(ez.mysql, config.apply.workers + 2, { lockWaitTimeoutS: 3, multipleStatements: true, apply: true, ...(register ? { register } : {}) });
      pools.push(pool);
      const applier = new Applier({
        ezone,
        origin,
        config: { apply: config.apply, replicate: config.replicate, tables: config.tables, supervision: config.supervision },
        log,
        pool,
        flavor,
        topic: changesTopic(prefix, origin),
        stream: (await kafkaFor(origin)).messageStream(changesTopic(prefix, origin), `${config.kafka.clientId}.${prefix}.${ezone}.apply.${origin}`),
        progress: running.capture,
        ownership,
        slotBase: origins.indexOf(origin) * 64,
        deadLetter: (m: StoredMessage, reason: string) =>
          events.publish([
            {
              topic: deadLetterTopic(prefix, ezone),
              key: m.key ?? origin,
              value: m.value ?? Buffer.alloc(0),
              headers: { reason, topic: changesTopic(prefix, origin), offset: m.offset, origin },
            },
          ]),
        publishConflicts: (records) => events.publish(records.map((r) => ({ topic: conflictsTopic(prefix), ...conflictMessage(r, config.kafka.maxMessageBytes) }))),
        ...(options.fence ? { fence: options.fence } : {}),
        yields,
      });
      await applier.start();
      appliers.set(origin, applier);
    }
  } catch (err) {
    await Promise.allSettled([...appliers.values()].map((a) => a.stop()));
    await Promise.allSettled(pools.map((p) => p.end()));
    await events.close().catch(() => undefined);
    await running.close().catch(() => undefined);
    throw err;
  }
  const stopHousekeeping = startHousekeeping(metaPool, flavor, ezone, config, log, options.fence);
  const status: RoutingStatus = { version: routing.version, banned: 0 };
  const stopRouting = refreshRouting(metaPool, config.kafka.topicPrefix, routing, status, log, options.routingRefreshMs ?? ROUTING_REFRESH_MS);
  return {
    ezone,
    routing,
    routingStatus: () => status,
    capture: running.capture,
    appliers,
    startedAt: Date.now(),
    close: async () => {
      stopHousekeeping();
      stopRouting();
      await Promise.allSettled([...appliers.values()].map((a) => a.stop()));
      await Promise.allSettled(pools.map((p) => p.end()));
      await events.close().catch(() => undefined);
      await running.close();
    },
  };
}

/**
 * How often a daemon re-reads drc_meta.routing (the routing its appliers judge changes without the
 * origin's verdict by, and the metrics). Late rows of a forced switchover do not wait for it: each
 * applying transaction reads the forced flips itself (apply/target-transaction.ts).
 */
const ROUTING_REFRESH_MS = 250;

/** Keep `routing` equal to this database's drc_meta.routing; returns the stop. */
function refreshRouting(metaPool: ReturnType<typeof createPool>, topology: string, routing: RoutingBook, status: RoutingStatus, log: Logger, everyMs: number): () => void {
  let last = routing.version;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    Promise.all([readRouting(metaPool, topology), latestSwitchover(metaPool, topology), readForcedFlips(metaPool, topology)])
      .then(([routes, switchover, forced]) => {
        routing.replace(routes);
        routing.setForced(forced);
        if (routing.version !== last) log.info({ routingVersion: routing.version, previous: last }, 'routing changed');
        last = routing.version;
        status.version = routing.version;
        status.banned = routes.filter((r) => r.state === 'banned').length;
        if (switchover) status.switchover = switchover;
        else delete status.switchover;
      })
      .catch((err: Error) => log.warn({ err: err.message }, 'reading drc_meta.routing failed'))
      .finally(() => {
        busy = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** One Kafka client per distinct broker list (ezones may have their own clusters). */
function kafkaClients(config: Config, ezone: string, log: Logger): (name: string | undefined) => Promise<KafkaTransport> {
  const clients = new Map<string, Promise<KafkaTransport>>();
  // `undefined`: the topology's own Kafka (config.kafka.brokers).
  return (name: string | undefined) => {
    const brokers = (name === undefined ? undefined : config.ezones[name]?.kafka?.brokers) ?? config.kafka.brokers;
    const id = brokers.join(',');
    let k = clients.get(id);
    if (!k) {
      k = createTransport(config.kafka, { brokers, clientId: `${config.kafka.clientId}-${ezone}`, log });
      clients.set(id, k);
    }
    return k;
  };
}

/** The heartbeat writer and the tombstone purge, on the meta pool; returns their stop. */
function startHousekeeping(
  metaPool: ReturnType<typeof createPool>,
  flavor: 'mariadb' | 'mysql',
  ezone: string,
  config: Pick<Config, 'heartbeat' | 'apply'>,
  log: Logger,
  fence: { check(conn: PoolConnection): Promise<void> } | undefined,
): () => void {
  const heartbeat = new Heartbeat(metaPool, flavor, ezone, config.heartbeat.interval, log.child({ component: 'heartbeat' }), fence);
  heartbeat.start();
  // Tombstones expire after apply.tombstoneRetention (DESIGN.md section 5 rule 4).
  const retention = config.apply.tombstoneRetention;
  const purge = setInterval(() => {
    for (const table of ['tombstones', 'applied_tombstones'] as const) {
      purgeTombstones(metaPool, table, retention).catch((err: Error) => log.warn({ table, err: err.message }, 'tombstone purge failed'));
    }
    // Unique-value claims expire with the tombstones (apply/unique-claims.ts).
    for (const table of ['unique_claims', 'local_claims'] as const) {
      const claims = purgeClaimsStatement(table, retention);
      metaPool.query(claims.sql, claims.params).catch((err: Error) => log.warn({ table, err: err.message }, 'claim purge failed'));
    }
    // So do children waiting for a deleted parent (apply/fk-waiting.ts).
    const waiting = purgeWaitingStatement(retention);
    metaPool.query(waiting.sql, waiting.params).catch((err: Error) => log.warn({ table: 'fk_waiting', err: err.message }, 'waiting children purge failed'));
  }, 60_000);
  purge.unref();
  return () => {
    clearInterval(purge);
    heartbeat.stop();
  };
}
