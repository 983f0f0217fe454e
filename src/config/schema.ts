/**
 * The topology config: one YAML file describes every ezone; each daemon picks its part with --ezone.
 * One zod schema, every field with a default (where one makes sense) and a comment. Unknown keys are
 * errors (strictObject everywhere).
 */
import { z } from 'zod';
import { kafkaSaslSchema, kafkaSslSchema, mysqlPasswordShape, mysqlTlsSchema, onePassword } from './security.js';

/** Integer that may also arrive as a numeric string (values interpolated from environment variables). */
const int = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z.number().int().min(min).max(max),
  );

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parse a duration such as `500ms`, `10s`, `5m`, `24h`, `7d` into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** A duration written as `500ms`, `10s`, `5m`, `24h`, `7d` (or a number of milliseconds); parsed to ms. */
const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration — write it like 500ms, 10s, 5m, 24h or 7d` });
    return z.NEVER;
  }
  return ms;
});

/** Ezone names end up in Kafka topic names and metric labels. */
export const ezoneName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'ezone names are 1–32 characters: a lowercase letter, then a-z, 0-9, _ or -');

/** `schema.table`; `*` is allowed as a glob in include/exclude patterns only. */
const tableName = z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'write the table as schema.table');

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'write a broker as host:port, e.g. 127.0.0.1:9092');

const mysqlSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'), // server address of this ezone's writable primary
    port: int(1, 65535).default(3306), // TCP port
    user: z.string().min(1).default('drc'), // DRC's least-privilege account (README "Security": the privileges and why)
    ...mysqlPasswordShape, // password (or ${ENV_VAR}) or passwordFile
    flavor: z.enum(['auto', 'mariadb', 'mysql']).default('auto'), // SQL dialect; auto = detect from the server version
    connectTimeoutMs: int(100, 600_000).default(10_000), // connect timeout for every connection DRC opens
    tls: mysqlTlsSchema.prefault({}), // TLS on every connection DRC opens to this server (binlog reader, appliers, tools)
  })
  .superRefine(onePassword);

const kafkaSchema = z.strictObject({
  brokers: z.array(hostPort).min(1, 'list at least one Kafka broker as host:port'), // bootstrap servers
  clientId: z.string().min(1).default('drc'), // Kafka client id prefix (the ezone name is appended)
  client: z.enum(['platformatic', 'kafkajs']).default('platformatic'), // client library: @platformatic/kafka (maintained; Java-compatible partitioning) or kafkajs 2.2.4 (unmaintained since 2023); both keep the same guarantees and partitions
  topicPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'a topic prefix uses letters, digits, _ or -')
    .default('drc'), // topics are <prefix>.<ezone>.changes, <prefix>.<ezone>.notify, <prefix>.conflicts
  ssl: kafkaSslSchema.default(false), // TLS to the brokers: true (system CAs) or { ca, cert, key, rejectUnauthorized, servername }
  sasl: kafkaSaslSchema.optional(), // SASL authentication (plain, scram-sha-256/512, oauthbearer), off by default
  replicationFactor: int(-1, 32).default(-1), // for topics DRC creates; -1 = the broker's default
  notifyPartitions: int(1, 1024).default(3), // partitions of the notify topics (changes topics always have 1)
  maxMessageBytes: int(16_384, 100_000_000).default(900_000), // upper bound of every message DRC sends, in bytes (value, key, framing): transactions are chunked and larger values split below it; the topics DRC creates accept it + 64 KiB
  transactionTimeout: duration
    .default(120_000)
    .refine((ms) => ms >= 1000 && ms <= 900_000, 'write a duration between 1s and 15m (brokers refuse more than their transaction.max.timeout.ms, 15m by default)'), // the broker aborts a capture transaction left open this long (an outage, a stall): capture then claims its producer again and resumes from the last committed position
});

const ezoneSchema = z.strictObject({
  mysql: mysqlSchema, // this ezone's writable primary
  serverId: int(1, 4_294_967_295), // replica server id of the capture's binlog connection: unique per MySQL server
  kafka: z
    .strictObject({
      brokers: z.array(hostPort).min(1), // bootstrap servers of the cluster holding this ezone's topics
    })
    .optional(), // default: the top-level kafka.brokers
});

const tableSchema = z.strictObject({
  versionColumn: z.string().min(1).nullable().optional(), // LWW version column; null = none (no conflict protection)
});

const shardRuleSchema = z.discriminatedUnion('function', [
  z.strictObject({
    function: z.literal('hash'), // shard = hash(column value) mod ownership.shardCount, owner from ownership.routing
    column: z.string().min(1), // shard-key column, e.g. user_id
  }),
  z.strictObject({
    function: z.literal('range'), // owner from numeric ranges of the column value
    column: z.string().min(1), // shard-key column
    ranges: z
      .array(
        z.strictObject({
          from: z.number(), // inclusive lower bound
          to: z.number(), // exclusive upper bound
          ezone: ezoneName, // owner of this range
        }),
      )
      .min(1),
  }),
]);

const ownershipSchema = z.strictObject({
  policy: z.enum(['report', 'reject']).default('report'), // report = apply under LWW and record; reject = skip and record
  shardCount: int(1, 1_000_000).default(1024), // number of hash shards
  routing: z
    .array(
      z.strictObject({
        shards: z.string().regex(/^\d+(-\d+)?$/, 'write shards as N or N-M'), // inclusive shard range
        ezone: ezoneName, // owner of these shards
      }),
    )
    .default([]), // hash shard → owner ezone
  tables: z.record(tableName, shardRuleSchema).default({}), // sharded tables and their shard rules
  global: z.record(tableName, ezoneName).default({}), // global tables and the single ezone allowed to write them
});

export const configSchema = z
  .strictObject({
    version: z.literal(1).default(1), // config format version
    kafka: kafkaSchema, // the Kafka cluster(s) that carry changes between ezones
    ezones: z
      .record(ezoneName, ezoneSchema)
      .refine((e) => Object.keys(e).length >= 1, 'define at least one ezone'), // every ezone of the topology
    replicate: z
      .strictObject({
        include: z.array(z.string().min(1)).default(['*.*']), // schema.table globs to replicate (system schemas never are)
        exclude: z.array(z.string().min(1)).default([]), // schema.table globs to leave out
        versionColumn: z.string().min(1).nullable().default('updated_at'), // default LWW version column
      })
      .prefault({}), // what to replicate
    tables: z.record(tableName, tableSchema).default({}), // per-table overrides
    ownership: ownershipSchema.prefault({}), // which ezone may write which rows
    capture: z
      .strictObject({
        maxBufferBytes: int(1 << 20, 2 ** 31).default(16 << 20), // pause the binlog when this much is queued for Kafka
        maxInFlightBatches: int(1, 1024).optional(), // DEPRECATED, no effect: accepted with a warning (loader.ts), dropped from the result
        binlogHeartbeatMs: int(100, 60_000).default(1000), // server heartbeat on an idle binlog connection
      })
      .transform(({ maxInFlightBatches: _deprecated, ...capture }) => capture)
      .prefault({}),
    apply: z
      .strictObject({
        workers: int(1, 32).default(4), // parallel apply connections per origin
        maxBufferBytes: int(1 << 20, 2 ** 31).default(16 << 20), // incoming messages buffered per origin before Kafka reads pause
        groupMaxTransactions: int(1, 10_000).default(1000), // source transactions grouped into one target transaction (a backlog; live traffic groups what is there)
        groupMaxRows: int(1, 1_000_000).default(5000), // rows per grouped target transaction
        onUnknownColumn: z.enum(['pause', 'drop']).default('pause'), // change names a column the target lacks
        // a transaction the target rejects for a deterministic reason (a value it cannot store): pause = the
        // origin's stream pauses loudly until the cause is fixed; quarantine = that source transaction alone is
        // set aside (dead-letter topic + drc_meta.quarantine, `drc quarantine`) and the stream goes on
        onError: z.enum(['pause', 'quarantine']).default('pause'),
        tombstoneRetention: duration.default(86_400_000), // how long deleted keys are remembered (24h)
      })
      .prefault({}),
    heartbeat: z
      .strictObject({
        interval: duration.default(1000), // heartbeat row written into drc_meta.heartbeat
      })
      .prefault({}),
    ha: z
      .strictObject({
        lease: duration.default(5000), // a standby daemon takes over once the active one has not renewed its lease this long
      })
      .prefault({}),
    health: z
      .strictObject({
        maxLag: duration.default(10_000), // /healthz turns unhealthy past this end-to-end lag
        stuckAfter: duration.default(60_000), // a stream with work but no progress this long is stuck
      })
      .prefault({}),
    supervision: z
      .strictObject({
        initialDelay: duration.default(100), // first retry of a failed stream (capture, apply from an origin); doubles per failure, jittered ±25 %
        maxDelay: duration.default(10_000), // the longest wait between two retries
        giveUpAfter: duration.default(60_000), // a stream failing this long without progress is paused: metric, /healthz 503, one error log line
        pausedRetry: duration.default(2000), // how often a paused stream tries again (it resumes by itself once the cause is fixed)
      })
      .prefault({}), // how failed streams are retried, and when they are reported paused
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'), // pino log level
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const names = new Set(Object.keys(cfg.ezones));
    const known = [...names].join(', ');
    const checkEzone = (ezone: string, path: (string | number)[]) => {
      if (!names.has(ezone)) {
        ctx.addIssue({ code: 'custom', path, message: `ezone "${ezone}" is not defined under ezones (known: ${known})` });
      }
    };
    cfg.ownership.routing.forEach((r, i) => checkEzone(r.ezone, ['ownership', 'routing', i, 'ezone']));
    for (const [table, owner] of Object.entries(cfg.ownership.global)) checkEzone(owner, ['ownership', 'global', table]);
    for (const [table, rule] of Object.entries(cfg.ownership.tables)) {
      if (rule.function === 'range') rule.ranges.forEach((r, i) => checkEzone(r.ezone, ['ownership', 'tables', table, 'ranges', i, 'ezone']));
    }
    const byServerId = new Map<string, string>();
    for (const [name, ez] of Object.entries(cfg.ezones)) {
      const key = `${ez.mysql.host}:${ez.mysql.port}/${ez.serverId}`;
      const other = byServerId.get(key);
      if (other) {
        ctx.addIssue({
          code: 'custom',
          path: ['ezones', name, 'serverId'],
          message: `serverId ${ez.serverId} is also used by ezone "${other}" on the same server — give each reader its own id`,
        });
      }
      byServerId.set(key, name);
    }
  });

/** The validated config, with every default filled in. */
export type Config = z.output<typeof configSchema>;
/** The config as written in the file (defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
export type EzoneConfig = Config['ezones'][string];
export type MysqlConfig = EzoneConfig['mysql'];
export type KafkaConfig = Config['kafka'];
