/**
 * The write guard for applications that route in code (issue 17), exported as `drc/guard`: given the
 * routing in force in this ezone's database (drc_meta.routing, re-read every `refreshMs`), answers who
 * owns a row or a shard key and whether this ezone may write it now, with the same shard function as
 * DRC (model/ownership.ts). The database's guard triggers (`drc guard install`) stay the last word: a
 * write the TypeScript guard allowed just before a ban is refused by them.
 *
 * ```ts
 * import { RoutingGuard } from 'drc/guard';
 * const guard = await RoutingGuard.open({ pool, ezone: 'east', topology: config.kafka.topicPrefix, ownership: config.ownership });
 * if (guard.check('shop.orders', { user_id: 42 }).writable) await pool.query('INSERT …');
 * ```
 *
 * With `follow: { kafka: config.kafka }` it also reads `<prefix>.routing` itself and applies each
 * change `drc switchover` publishes as it arrives (refreshMs 0: the topic alone after the first read;
 * polling on as well, a read of a lagging database never undoes a newer change from the topic). It only
 * reads the topic (`drc run` and `drc switchover` create it): when it is missing, `onError` says so and
 * the guard polls drc_meta.routing instead.
 */
import type mysql from 'mysql2/promise';
import type { KafkaConfig } from '../config/schema.js';
import { readRouting } from '../db/routing-store.js';
import { DrcError, ErrorCode } from '../errors.js';
import { Ownership, shardOf, type OwnershipRules } from '../model/ownership.js';
import type { KafkaTransport, MessageStream, StoredMessage } from '../model/ports.js';
import { parseShardRange, RoutingBook } from '../model/routing.js';
import { routingTopic } from '../model/topics.js';
import type { Row, WireValue } from '../model/value.js';
import { createLogger, type Logger } from '../ops/logger.js';
import { createBrokerInspector, createTransport } from '../transport/select.js';

/** How often drc_meta.routing is re-read by default. */
const DEFAULT_REFRESH_MS = 100;

/** How often a guard that fell back to polling checks again for `<prefix>.routing` by default. */
const DEFAULT_RECHECK_MS = 30_000;

export interface GuardOptions {
  /** A pool (or connection) on this ezone's database. */
  pool: Pick<mysql.Pool, 'query'>;
  /** This ezone's name. */
  ezone: string;
  /** The topology's kafka.topicPrefix (default drc): the routing rows are the topology's. */
  topology?: string;
  /** The config's `ownership` section (shard count, table rules, global tables; routing only seeds the database). */
  ownership: Pick<OwnershipRules, 'shardCount' | 'tables' | 'global'> & Partial<Pick<OwnershipRules, 'policy' | 'routing'>>;
  /** How often drc_meta.routing is re-read (default 100 ms; 0: only on refresh()). */
  refreshMs?: number;
  /** Called when a background refresh fails, or a message of `<prefix>.routing` is not a routing change (the routing in hand stays in force). */
  onError?: (err: Error) => void;
  /**
   * Subscribe to `<prefix>.routing` (the topology's Kafka, `config.kafka`) and apply every change on it,
   * from its earliest message: those the first read of drc_meta already holds are ignored, so no change
   * published after that read is missed. `log`: the Kafka client's (default: warnings to stderr).
   * When the topic is missing (or not visible to this Kafka user), or cannot be checked, `onError` hears
   * it (a DrcError `DRC_TOPIC_MISSING`, or `DRC_KAFKA_UNAVAILABLE` with the failure as its cause), the
   * guard polls drc_meta.routing meanwhile and checks for the topic again every `recheckMs` (default
   * 30 s) until it follows it; a later attempt that fails in any way falls back the same way.
   */
  follow?: { kafka: KafkaConfig; log?: Logger; recheckMs?: number };
}

/** A routing change as `drc switchover` publishes it on `<prefix>.routing` (admin/switchover-types.ts RoutingEvent). */
export interface RoutingChangeMessage {
  version: number;
  shards: string;
  owner: string;
  state: 'owned' | 'banned';
  movingTo?: string;
}

/** The guard's answer for one row or shard key. */
export interface GuardVerdict {
  /** Whether this ezone may write it now. */
  writable: boolean;
  /** Its owner (undefined: no owner defined, writable everywhere). */
  owner?: string;
  /** Under a write ban (a switchover is moving it): nobody may write it. */
  banned: boolean;
  /** Its hash shard, for hash-sharded tables and shard keys. */
  shard?: number;
  /** The routing version the answer comes from. */
  version: number;
}

export class RoutingGuard {
  private readonly book = new RoutingBook();
  private readonly ownership: Ownership;
  private timer: NodeJS.Timeout | undefined;
  private following: { transport: KafkaTransport; stream: MessageStream } | undefined;
  /** The next check for the routing topic, after a fall back to polling. */
  private recheck: NodeJS.Timeout | undefined;
  /** The polling was started by the fall back (refreshMs 0): it stops once the topic is followed. */
  private pollingForTopic = false;
  private closed = false;

  private constructor(private readonly options: GuardOptions) {
    this.ownership = new Ownership({ policy: 'report', routing: [], ...options.ownership }, { routing: this.book, mode: 'local' });
  }

  /** Read the routing once, then keep it fresh in the background. */
  static async open(options: GuardOptions): Promise<RoutingGuard> {
    const guard = new RoutingGuard(options);
    await guard.refresh();
    const every = options.refreshMs ?? DEFAULT_REFRESH_MS;
    if (every > 0) guard.poll(every);
    if (options.follow) {
      try {
        await guard.follow(options.follow);
      } catch (err) {
        await guard.close();
        throw err;
      }
    }
    return guard;
  }

  /** Re-read drc_meta.routing every `everyMs` in the background (once: a second call changes nothing). */
  private poll(everyMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err: Error) => this.options.onError?.(err));
    }, everyMs);
    this.timer.unref();
  }

  /**
   * Read `<prefix>.routing` from its earliest message (RoutingGuard.open with `follow`). The topic is
   * never created here; when it is missing, `onError` hears it and the guard polls
   * drc_meta.routing instead (every refreshMs, or 100 ms when that is 0).
   */
  private async follow(follow: NonNullable<GuardOptions['follow']>): Promise<void> {
    const topology = this.options.topology ?? 'drc';
    const topic = routingTopic(topology);
    const clientId = `${follow.kafka.clientId}-guard-${this.options.ezone}`;
    const log = follow.log ?? createLogger('warn');
    const onError = (err: Error) => this.options.onError?.(err);
    // Only read: `drc run` and `drc switchover` create the topic, and an application's Kafka user need
    // not be allowed to. Missing (no daemon of this topology has run yet): drc_meta polling meanwhile.
    const inspector = await createBrokerInspector(follow.kafka, clientId, log);
    let exists: boolean;
    try {
      exists = (await inspector.endOffsets([topic])).has(topic);
    } catch (err) {
      // Not "missing": an authorization failure, a timeout, no leader — said as it is, and checked again.
      this.fallBack(follow, new DrcError(ErrorCode.kafkaUnavailable, `the routing topic ${topic} could not be checked (${(err as Error).message})`, { cause: err }));
      return;
    } finally {
      await inspector.close().catch(() => undefined);
    }
    if (!exists) {
      this.fallBack(follow, new DrcError(ErrorCode.topicMissing, `the routing topic ${topic} is missing or not visible to this Kafka user (it needs Describe and Read on it; drc run and drc switchover create it, the guard only reads it)`));
      return;
    }
    if (this.closed) return;
    const transport = await createTransport(follow.kafka, { clientId, log });
    const stream = transport.messageStream(topic, `${follow.kafka.clientId}.${topology}.guard.${this.options.ezone}`);
    const end = async () => {
      await stream.stop().catch(() => undefined);
      await transport.close().catch(() => undefined);
    };
    try {
      await stream.start(undefined, async (m) => this.onMessage(m, topic, onError), onError);
    } catch (err) {
      await end();
      throw err;
    }
    // Closed while the stream started: nothing may outlive close().
    if (this.closed) return end();
    this.following = { transport, stream };
    if (this.pollingForTopic) {
      // refreshMs 0 asked for the topic alone: the fall back's polling ends.
      clearInterval(this.timer);
      this.timer = undefined;
      this.pollingForTopic = false;
    }
  }

  /** Poll drc_meta.routing (when not already) and check for the routing topic again in `recheckMs`. */
  private fallBack(follow: NonNullable<GuardOptions['follow']>, why: DrcError): void {
    const every = this.options.refreshMs || DEFAULT_REFRESH_MS;
    const again = follow.recheckMs ?? DEFAULT_RECHECK_MS;
    why.message += `: following drc_meta.routing by polling every ${every} ms instead, and checking for the topic again every ${again / 1000} s`;
    this.options.onError?.(why);
    if (this.closed) return;
    if (!this.timer) {
      this.poll(every);
      this.pollingForTopic = true;
    }
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      // Any failure of a later attempt (the broker unreachable, the stream not starting) falls back again: checked again later.
      this.follow(follow).catch((err: Error) => this.fallBack(follow, new DrcError(ErrorCode.kafkaUnavailable, `following the routing topic failed (${err.message})`, { cause: err })));
    }, again);
    this.recheck.unref();
  }

  /** Whether the guard follows `<prefix>.routing` now (false: drc_meta polling alone). */
  get followsTopic(): boolean {
    return this.following !== undefined;
  }

  private onMessage(m: StoredMessage, topic: string, onError: (err: Error) => void): void {
    const change = routingChangeOf(m.value);
    if (change) this.applyChange(change);
    else onError(new Error(`message at offset ${m.offset} of ${topic} is not a routing change: ignored`));
  }

  /** Re-read drc_meta.routing now (per shard, a row older than the one held, e.g. from the topic, is ignored). */
  async refresh(): Promise<void> {
    this.book.merge(await readRouting(this.options.pool, this.options.topology ?? 'drc'));
  }

  /** The routing version in force here. */
  get version(): number {
    return this.book.version;
  }

  /** Owner and writability of a row of `schema.table` (its shard-key column is read from `row`). */
  check(table: string, row: Row): GuardVerdict {
    const shard = this.ownership.shardOfRow(table, row);
    if (shard !== undefined) return this.checkShard(shard);
    const owner = this.ownership.ownerOf(table, row);
    return { writable: owner === undefined || owner === this.options.ezone, ...(owner ? { owner } : {}), banned: false, version: this.book.version };
  }

  /** Owner and writability of a shard-key value (hash-sharded tables). */
  checkKey(value: WireValue): GuardVerdict {
    return this.checkShard(shardOf(value, this.options.ownership.shardCount));
  }

  /** Owner and writability of one hash shard. */
  checkShard(shard: number): GuardVerdict {
    const route = this.book.route(shard);
    if (!route) return { writable: true, banned: false, shard, version: this.book.version };
    const banned = route.state === 'banned';
    return { writable: !banned && route.owner === this.options.ezone, owner: route.owner, banned, shard, version: this.book.version };
  }

  /**
   * Apply one routing change as published on `<prefix>.routing` (admin/switchover.ts RoutingEvent),
   * for applications that follow the topic instead of polling: a change older than what the guard
   * holds for a shard is ignored. The topic carries changes only: open the guard from the database
   * first (refreshMs 0 to stop polling).
   */
  applyChange(change: RoutingChangeMessage): void {
    const range = parseShardRange(change.shards);
    if (!range) return;
    for (let shard = range.from; shard <= range.to; shard++) {
      const now = this.book.route(shard);
      if (now && now.version >= change.version) continue;
      this.book.set({ shard, owner: change.owner, state: change.state, version: change.version, prevOwner: now?.owner ?? null, movingTo: change.movingTo ?? null });
    }
  }

  /** Stop the background refresh and the subscription to `<prefix>.routing`. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = undefined;
    const following = this.following;
    this.following = undefined;
    if (!following) return;
    await following.stream.stop().catch(() => undefined);
    await following.transport.close().catch(() => undefined);
  }
}

/** A message of `<prefix>.routing` → the routing change it carries; undefined when it is none. */
export function routingChangeOf(value: Buffer | null): RoutingChangeMessage | undefined {
  if (!value) return undefined;
  let e: unknown;
  try {
    e = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof e !== 'object' || e === null) return undefined;
  const { version, shards, owner, state, movingTo } = e as Record<string, unknown>;
  if (!Number.isInteger(version) || typeof shards !== 'string' || !parseShardRange(shards) || typeof owner !== 'string' || owner === '' || (state !== 'owned' && state !== 'banned')) return undefined;
  if (movingTo !== undefined && typeof movingTo !== 'string') return undefined;
  return { version: version as number, shards, owner, state, ...(typeof movingTo === 'string' ? { movingTo } : {}) };
}

export { shardOf };
