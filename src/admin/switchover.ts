/**
 * `drc switchover --config F --shards R --to E [--timeout D] [--resume]` (issue 17): the state machine
 * of switchover-plan.ts, run against every ezone's database. One runs at a time: it holds the named
 * lock `drc_switchover` in every ezone (a killed run's locks go with its connections), and a run that
 * finds an unfinished switchover resumes it (same shards and target) or refuses.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { connectionOptions } from '../db/connect.js';
import { ensureMetaSchema } from '../db/meta-schema.js';
import { errnoOf } from '../db/mysql-errors.js';
import { readRouting, routingChangeStatement, routingVersion, scopeOf, seedRouting, type RoutingChange } from '../db/routing-store.js';
import { CheckFailedError, UsageError } from '../errors.js';
import { changesTopic } from '../model/topics.js';
import type { Logger } from '../ops/logger.js';
import { planMove, reached, unfinished, type SwitchoverRecord, type SwitchoverState } from './switchover-plan.js';
import { unreachableMessage } from './unreachable.js';

/** A routing change as published on `<prefix>.routing`. */
export interface RoutingEvent {
  switchover: string;
  step: SwitchoverState;
  version: number;
  shards: string;
  owner: string;
  state: 'owned' | 'banned';
  movingTo?: string;
  /** The ezone whose database it was written in. */
  writtenIn: string;
  at: string;
}

export interface SwitchoverOptions {
  shards?: { from: number; to: number };
  to?: string;
  timeoutMs: number;
  resume: boolean;
  /**
   * Emergency: the old owner is unreachable. Flip the shards to `to` at once, written in `to`'s
   * database, with no ban and no fence; the old owner's writes that had not arrived are recorded as
   * ownership violations when they do.
   */
  force?: boolean;
  log: Logger;
  /** Publishes a routing change (on `<prefix>.routing`); failures are logged, never fatal. */
  publish?: (event: RoutingEvent) => Promise<void>;
  /** How often waits poll the databases. */
  pollMs?: number;
  /** Refuse to start when an ezone's heartbeat from another is older than this (config health.maxLag by default). */
  maxLagMs?: number;
  /** Awaited when a step is reached (tests kill the process there). */
  onStep?: (state: SwitchoverState) => Promise<void> | void;
}

export interface SwitchoverResult {
  id?: string;
  state: SwitchoverState | 'none';
  shards?: string;
  from?: string;
  to?: string;
  banVersion?: number | null;
  flipVersion?: number | null;
  /** Why it rolled back, or why nothing was done. */
  reason?: string;
  /** Milliseconds per step of this run. */
  steps: { step: string; ms: number }[];
  /** From the ban's commit to the flip's commit (writes to the shards refused everywhere meanwhile), when this run did both. */
  banToFlipMs?: number;
}

type Conns = Map<string, mysql.Connection>;

const LOCK = 'drc_switchover';
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;
/**
 * Lock wait of one attempt of a routing change, in seconds. The ban's UPDATE queues behind the guard's
 * shared locks of writes in flight, and the application's next writes of those shards queue behind it:
 * a short wait per attempt, retried until the deadline, keeps them stalled at most this long at a time.
 */
const ATTEMPT_LOCK_WAIT_S = 1;
/**
 * updated_at is the switchover row's version (last-writer-wins where it is replicated): every step's
 * strictly greater than the last, in UTC whatever the session's time zone.
 */
const NEXT_UPDATED_AT = 'updated_at = GREATEST(updated_at + INTERVAL 1 MICROSECOND, UTC_TIMESTAMP(6))';

export async function switchover(config: Config, options: SwitchoverOptions): Promise<SwitchoverResult> {
  const conns: Conns = new Map();
  const unreachable: string[] = [];
  try {
    for (const ezone of Object.keys(config.ezones).sort()) {
      const ez = config.ezones[ezone]!;
      try {
        const conn = await mysql.createConnection({ ...connectionOptions(ez.mysql), multipleStatements: false });
        conns.set(ezone, conn);
      } catch (err) {
        if (!options.force) throw new CheckFailedError(`${unreachableMessage(ezone, ez.mysql, err)} — a planned switchover needs every ezone (--force for an emergency one)`);
        if (ezone === options.to) throw new CheckFailedError(`${unreachableMessage(ezone, ez.mysql, err)} — the new owner must be reachable`);
        unreachable.push(ezone);
      }
    }
    for (const [ezone, conn] of conns) {
      await ensureMetaSchema(conn);
      // A new or restored ezone copies the others' routing (not the config's version 1).
      await seedRouting(conn, scopeOf(config), async () => {
        const out = [];
        for (const [other, c] of conns) if (other !== ezone) out.push(await readRouting(c, config.kafka.topicPrefix).catch(() => []));
        return out.filter((r) => r.length > 0);
      });
      const [[row]] = await conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS ok', [LOCK]);
      if (Number(row?.ok) !== 1) throw new CheckFailedError(`another drc switchover is running (it holds the lock ${LOCK} in ezone ${ezone}): wait for it, or kill it and run drc switchover --resume`);
    }
    if (options.force) return await forced(config, conns, unreachable, options);
    return await new Run(config, conns, options).run();
  } finally {
    await Promise.allSettled([...conns.values()].map((c) => c.end()));
  }
}

class Run {
  private readonly steps: { step: string; ms: number }[] = [];
  private readonly pollMs: number;
  private deadline = 0;
  private readonly topology: string;

  constructor(
    private readonly config: Config,
    private readonly conns: Conns,
    private readonly options: SwitchoverOptions,
  ) {
    this.pollMs = options.pollMs ?? 10;
    this.topology = config.kafka.topicPrefix;
  }

  private conn(ezone: string): mysql.Connection {
    return this.conns.get(ezone)!;
  }

  async run(): Promise<SwitchoverResult> {
    const open = unfinished(await this.allRecords());
    const wanted = this.options.shards;
    let record: SwitchoverRecord;
    if (open.length > 0) {
      record = open[0]!;
      const same = wanted && record.from === wanted.from && record.to === wanted.to && record.toEzone === this.options.to;
      if (!this.options.resume && !same) {
        throw new CheckFailedError(`switchover ${record.id} of shards ${record.from}-${record.to} from ${record.fromEzone} to ${record.toEzone} is unfinished (${record.state}): finish it first with drc switchover --resume`);
      }
      this.options.log.info({ switchover: record.id, state: record.state }, 'resuming switchover');
    } else {
      if (this.options.resume && !wanted) return { state: 'none', reason: 'no unfinished switchover to resume', steps: [] };
      if (!wanted || !this.options.to) throw new UsageError('--shards and --to are required (or --resume)');
      const started = await this.start(wanted, this.options.to);
      if ('state' in started) return started;
      record = started.record;
    }
    this.deadline = Date.now() + this.options.timeoutMs;
    return this.advance(record);
  }

  /** Every ezone's copy of every switchover. */
  private async allRecords(): Promise<SwitchoverRecord[]> {
    const out: SwitchoverRecord[] = [];
    for (const conn of this.conns.values()) {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT id, shard_from, shard_to, from_ezone, to_ezone, state, ban_version, flip_version, reason FROM drc_meta.switchovers WHERE topology = ?', [this.topology]);
      out.push(...rows.map(recordOf));
    }
    return out;
  }

  private async start(shards: { from: number; to: number }, target: string): Promise<{ record: SwitchoverRecord } | SwitchoverResult> {
    const t0 = Date.now();
    const versions = new Map<string, number>();
    for (const [ezone, conn] of this.conns) versions.set(ezone, await routingVersion(conn, this.topology));
    const distinct = new Set(versions.values());
    if (distinct.size > 1) {
      throw new CheckFailedError(`the ezones have not applied the same routing (${[...versions].map(([e, v]) => `${e}: ${v}`).join(', ')}): is replication running? wait for it, then retry`);
    }
    const [first] = this.conns.keys();
    const routes = await readRouting(this.conn(first!), this.topology);
    const plan = planMove(routes, shards, target, this.config.ownership.shardCount);
    if (plan.kind === 'refuse') throw new CheckFailedError(plan.reason);
    if (plan.kind === 'noop') return { state: 'none', reason: plan.reason, steps: [] };
    await this.precheckLag();
    const record: SwitchoverRecord = {
      id: `so-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
      from: shards.from,
      to: shards.to,
      fromEzone: plan.fromEzone,
      toEzone: target,
      state: 'started',
      banVersion: null,
      flipVersion: null,
      reason: null,
    };
    await this.conn(record.fromEzone).query(
      'INSERT INTO drc_meta.switchovers (id, topology, shard_from, shard_to, from_ezone, to_ezone, state, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))',
      [record.id, this.topology, record.from, record.to, record.fromEzone, record.toEzone, record.state],
    );
    this.options.log.info({ switchover: record.id, shards: `${record.from}-${record.to}`, from: record.fromEzone, to: record.toEzone }, 'switchover started');
    this.step('precheck', t0);
    await this.options.onStep?.('started');
    return { record };
  }

  /** Every ezone has a recent heartbeat from every other one (drc_meta.lag). */
  private async precheckLag(): Promise<void> {
    const limit = this.options.maxLagMs ?? this.config.health.maxLag;
    const names = [...this.conns.keys()];
    for (const [dest, conn] of this.conns) {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT origin, TIMESTAMPDIFF(MICROSECOND, sent_at, UTC_TIMESTAMP(6)) DIV 1000 AS age FROM drc_meta.lag');
      const age = new Map(rows.map((r) => [String(r.origin), Number(r.age)]));
      for (const origin of names) {
        if (origin === dest) continue;
        const ms = age.get(origin);
        if (ms === undefined) throw new CheckFailedError(`ezone ${dest} has applied no heartbeat from ${origin}: is drc run going in both? (a switchover needs replication running between every pair)`);
        if (ms > limit) throw new CheckFailedError(`ezone ${dest} is ${ms} ms behind ${origin} (limit ${limit} ms, health.maxLag): wait until replication catches up`);
      }
    }
  }

  private async advance(record: SwitchoverRecord): Promise<SwitchoverResult> {
    let r = record;
    let banAt: number | undefined;
    try {
      if (r.state === 'started') {
        r = await this.ban(r);
        banAt = Date.now();
      }
      // The fence follows the ban at once: both travel the old owner's stream, so the waits for the
      // ban everywhere and for the fence in the new owner overlap.
      if (r.state === 'banned') r = await this.fence(r);
      if (r.state === 'fenced') {
        await this.waitAll('ban applied', r.banVersion!);
        await this.waitFence(r);
        await this.noQuarantine(r);
        r = await this.flip(r);
      }
    } catch (err) {
      if (!(err instanceof StepTimeout || err instanceof RollBack)) throw err;
      return this.rollback(r, err.message);
    }
    if (r.state === 'flipped') {
      const flipAt = Date.now();
      try {
        await this.waitAll('flip applied', r.flipVersion!);
      } catch (err) {
        if (!(err instanceof StepTimeout)) throw err;
        return this.result(r, { reason: `flipped, but ${err.message}: run drc switchover --resume once replication runs` });
      }
      await this.conn(r.toEzone).query(`UPDATE drc_meta.switchovers SET state = 'done', ${NEXT_UPDATED_AT} WHERE id = ?`, [r.id]);
      r = { ...r, state: 'done' };
      this.options.log.info({ switchover: r.id }, 'switchover done');
      await this.options.onStep?.('done');
      return this.result(r, banAt === undefined ? {} : { banToFlipMs: flipAt - banAt });
    }
    return this.result(r, {});
  }

  private result(r: SwitchoverRecord, extra: Partial<SwitchoverResult>): SwitchoverResult {
    return { id: r.id, state: r.state, shards: `${r.from}-${r.to}`, from: r.fromEzone, to: r.toEzone, banVersion: r.banVersion, flipVersion: r.flipVersion, ...(r.reason ? { reason: r.reason } : {}), steps: this.steps, ...extra };
  }

  private async nextVersion(): Promise<number> {
    let max = 0;
    for (const conn of this.conns.values()) max = Math.max(max, await routingVersion(conn, this.topology));
    return max + 1;
  }

  /**
   * One routing change and the switchover's new state, in one transaction of `writtenIn`'s database:
   * attempts of ATTEMPT_LOCK_WAIT_S each, again after a lock wait timeout or a deadlock, until the
   * deadline (then the last error is thrown).
   */
  private async write(r: SwitchoverRecord, writtenIn: string, change: RoutingChange, state: SwitchoverState, set: string, params: unknown[]): Promise<void> {
    const conn = this.conn(writtenIn);
    await conn.query(`SET SESSION innodb_lock_wait_timeout = ${ATTEMPT_LOCK_WAIT_S}`);
    for (let attempt = 1; ; attempt++) {
      await conn.beginTransaction();
      try {
        const stmt = routingChangeStatement(this.topology, change);
        await conn.query(stmt.sql, stmt.params);
        const [res] = await conn.query<mysql.ResultSetHeader>(`UPDATE drc_meta.switchovers SET state = ?${set}, ${NEXT_UPDATED_AT} WHERE id = ?`, [state, ...params, r.id]);
        if (res.affectedRows !== 1) throw new CheckFailedError(`switchover ${r.id} is not recorded in ${writtenIn}'s drc_meta.switchovers: nothing written`);
        await conn.commit();
        break;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        const errno = errnoOf(err);
        if ((errno === ER_LOCK_WAIT_TIMEOUT || errno === ER_LOCK_DEADLOCK) && Date.now() < this.deadline) {
          this.options.log.info({ switchover: r.id, step: state, attempt, errno }, 'routing change waited for writes in flight; trying again');
          continue;
        }
        throw err;
      }
    }
    const event: RoutingEvent = {
      switchover: r.id,
      step: state,
      version: change.version,
      shards: `${change.from}-${change.to}`,
      owner: change.owner,
      state: change.state,
      ...(change.movingTo ? { movingTo: change.movingTo } : {}),
      writtenIn,
      at: new Date().toISOString(),
    };
    await this.options.publish?.(event).catch((err: Error) => this.options.log.warn({ err: err.message, switchover: r.id }, 'publishing the routing change failed (drc_meta.routing has it)'));
  }

  private async ban(r: SwitchoverRecord): Promise<SwitchoverRecord> {
    const t0 = Date.now();
    const version = await this.nextVersion();
    try {
      await this.write(r, r.fromEzone, { from: r.from, to: r.to, owner: r.fromEzone, state: 'banned', version, movingTo: r.toEzone }, 'banned', ', ban_version = ?', [version]);
    } catch (err) {
      // Writes held their shards' routing rows past the timeout: nothing was banned.
      const errno = errnoOf(err);
      if (errno === ER_LOCK_WAIT_TIMEOUT || errno === ER_LOCK_DEADLOCK) throw new StepTimeout(`the ban waited for writes in flight on the shards in ${r.fromEzone} past the timeout`);
      throw err;
    }
    this.options.log.info({ switchover: r.id, version }, 'shards banned');
    this.step('ban', t0);
    await this.options.onStep?.('banned');
    return { ...r, state: 'banned', banVersion: version };
  }

  private async fence(r: SwitchoverRecord): Promise<SwitchoverRecord> {
    const t0 = Date.now();
    await this.conn(r.fromEzone).query(`UPDATE drc_meta.switchovers SET state = 'fenced', ${NEXT_UPDATED_AT} WHERE id = ? AND state = 'banned'`, [r.id]);
    this.step('fence', t0);
    await this.options.onStep?.('fenced');
    return { ...r, state: 'fenced' };
  }

  private async flip(r: SwitchoverRecord): Promise<SwitchoverRecord> {
    const t0 = Date.now();
    const version = await this.nextVersion();
    // Written in the new owner, which has applied the ban and the fence: it writes the shards from this
    // commit on; every other ezone keeps refusing them (banned) until it applies the flip.
    await this.write(r, r.toEzone, { from: r.from, to: r.to, owner: r.toEzone, state: 'owned', version, movingTo: null }, 'flipped', ', flip_version = ?', [version]);
    this.options.log.info({ switchover: r.id, version }, 'shards flipped to their new owner');
    this.step('flip', t0);
    await this.options.onStep?.('flipped');
    return { ...r, state: 'flipped', flipVersion: version };
  }

  private async rollback(r: SwitchoverRecord, reason: string): Promise<SwitchoverResult> {
    this.deadline = Date.now() + this.options.timeoutMs;
    if (r.state === 'started') {
      // Nothing was banned: the routing stays as it is, only the record says why it stopped.
      await this.conn(r.fromEzone).query(`UPDATE drc_meta.switchovers SET state = 'rolled-back', reason = ?, ${NEXT_UPDATED_AT} WHERE id = ?`, [reason, r.id]);
      this.options.log.warn({ switchover: r.id, reason }, 'switchover rolled back before its ban');
      await this.options.onStep?.('rolled-back');
      return this.result({ ...r, state: 'rolled-back', reason }, {});
    }
    const version = await this.nextVersion();
    await this.write(r, r.fromEzone, { from: r.from, to: r.to, owner: r.fromEzone, state: 'owned', version, movingTo: null }, 'rolled-back', ', reason = ?', [reason]);
    this.options.log.warn({ switchover: r.id, version, reason }, 'switchover rolled back');
    await this.options.onStep?.('rolled-back');
    return this.result({ ...r, state: 'rolled-back', reason }, {});
  }

  /** Until every ezone has applied routing version `version`. */
  private async waitAll(what: string, version: number): Promise<void> {
    const t0 = Date.now();
    for (const [ezone, conn] of this.conns) {
      await this.until(`ezone ${ezone} has not applied routing version ${version} within the timeout`, async () => (await routingVersion(conn, this.topology)) >= version);
    }
    this.step(what, t0);
  }

  /** Until the new owner has applied the fence (the switchover row in state fenced or later). */
  private async waitFence(r: SwitchoverRecord): Promise<void> {
    const t0 = Date.now();
    const conn = this.conn(r.toEzone);
    await this.until(`ezone ${r.toEzone} has not applied ${r.fromEzone}'s fence within the timeout`, async () => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT state FROM drc_meta.switchovers WHERE id = ?', [r.id]);
      const state = rows[0]?.state as SwitchoverState | undefined;
      return state !== undefined && reached(state, 'fenced');
    });
    this.step('fence applied', t0);
  }

  /**
   * The new owner holds no quarantined transaction of the old owner (drc_meta.quarantine): one would
   * be a write of the old owner the new owner lacks, and after the flip a retry of it would be an
   * ownership violation. Else the switchover rolls back, naming them.
   */
  private async noQuarantine(r: SwitchoverRecord): Promise<void> {
    const [rows] = await this.conn(r.toEzone).query<mysql.RowDataPacket[]>(
      "SELECT id FROM drc_meta.quarantine WHERE kafka_topic = ? AND state = 'quarantined' ORDER BY id LIMIT 10",
      [changesTopic(this.topology, r.fromEzone)],
    );
    if (rows.length === 0) return;
    const ids = rows.map((x) => String(x.id)).join(', ');
    throw new RollBack(
      `ezone ${r.toEzone} holds quarantined transactions of ${r.fromEzone} (id ${ids}${rows.length === 10 ? ', …' : ''}): retry or drop them first (drc quarantine list --config <file> --ezone ${r.toEzone}, then drc quarantine retry|drop), then run the switchover again`,
    );
  }

  private async until(timeoutMessage: string, done: () => Promise<boolean>): Promise<void> {
    for (;;) {
      if (await done()) return;
      if (Date.now() > this.deadline) throw new StepTimeout(timeoutMessage);
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  private step(step: string, t0: number): void {
    this.steps.push({ step, ms: Date.now() - t0 });
  }
}

class StepTimeout extends Error {}
/** A check before the flip failed: the switchover rolls back with this reason. */
class RollBack extends Error {}

/**
 * The emergency switchover: one routing change written in the new owner's database (owner = it, no
 * ban, previous owner forgotten), a switchover record `done` with the reason, and unfinished
 * switchovers seen there marked rolled back; then a wait until every reachable ezone has applied it.
 */
async function forced(config: Config, conns: Conns, unreachable: string[], options: SwitchoverOptions): Promise<SwitchoverResult> {
  const t0 = Date.now();
  const topology = config.kafka.topicPrefix;
  const to = options.to;
  const shards = options.shards;
  if (!to || !shards) throw new UsageError('--force needs --shards and --to');
  const conn = conns.get(to)!;
  const plan = planMove(await readRouting(conn, topology), shards, to, config.ownership.shardCount, true);
  if (plan.kind === 'refuse') throw new CheckFailedError(plan.reason);
  if (plan.kind === 'noop') return { state: 'none', reason: plan.reason, steps: [] };
  // Only for an old owner that cannot be reached: a reachable one gets the planned switchover (ban, fence).
  if (conns.has(plan.fromEzone)) {
    throw new CheckFailedError(`--force is for an unreachable old owner, and ezone ${plan.fromEzone} (the shards' owner) is reachable: run the planned switchover (without --force)`);
  }
  const records: SwitchoverRecord[] = [];
  for (const c of conns.values()) {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT id, shard_from, shard_to, from_ezone, to_ezone, state, ban_version, flip_version, reason FROM drc_meta.switchovers WHERE topology = ?', [topology]);
    records.push(...rows.map(recordOf));
  }
  const open = unfinished(records);
  // An unfinished switchover of other shards, or one already flipped, is not this run's to end.
  const blocking = open.find((r) => r.from !== shards.from || r.to !== shards.to || reached(r.state, 'flipped'));
  if (blocking) {
    throw new CheckFailedError(
      `switchover ${blocking.id} of shards ${blocking.from}-${blocking.to} from ${blocking.fromEzone} to ${blocking.toEzone} is unfinished (${blocking.state}): finish it first (drc switchover --resume), or force exactly its shards${reached(blocking.state, 'flipped') ? ' — it is flipped: only --resume finishes it' : ''}`,
    );
  }
  // Above every version any ezone has, and above the ban of an unfinished switchover that may not have arrived.
  let version = 0;
  for (const c of conns.values()) version = Math.max(version, await routingVersion(c, topology));
  for (const r of records) version = Math.max(version, r.banVersion ?? 0, r.flipVersion ?? 0);
  version++;
  const id = `so-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const reason = `forced${unreachable.length > 0 ? ` (unreachable: ${unreachable.join(', ')})` : ''}: no ban, no fence`;
  await conn.beginTransaction();
  try {
    const stmt = routingChangeStatement(topology, { from: shards.from, to: shards.to, owner: to, state: 'owned', version, movingTo: null, forgetPrevious: true });
    await conn.query(stmt.sql, stmt.params);
    // The unfinished switchover of the same shards (not flipped: refused above) ends here.
    await conn.query(`UPDATE drc_meta.switchovers SET state = 'rolled-back', reason = ?, ${NEXT_UPDATED_AT} WHERE topology = ? AND state IN ('started', 'banned', 'fenced')`, [`superseded by the forced switchover ${id}`, topology]);
    for (const r of open) {
      // Seen only in another reachable ezone (its copy has not arrived here): the record is written here.
      await conn.query(
        "INSERT IGNORE INTO drc_meta.switchovers (id, topology, shard_from, shard_to, from_ezone, to_ezone, state, ban_version, reason, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'rolled-back', ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        [r.id, topology, r.from, r.to, r.fromEzone, r.toEzone, r.banVersion, `superseded by the forced switchover ${id}`],
      );
    }
    await conn.query(
      "INSERT INTO drc_meta.switchovers (id, topology, shard_from, shard_to, from_ezone, to_ezone, state, flip_version, reason, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'done', ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
      [id, topology, shards.from, shards.to, plan.fromEzone, to, version, reason],
    );
    await conn.commit();
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  }
  options.log.warn({ switchover: id, version, from: plan.fromEzone, to, unreachable }, 'forced switchover: shards flipped without ban or fence');
  await options.publish?.({ switchover: id, step: 'done', version, shards: `${shards.from}-${shards.to}`, owner: to, state: 'owned', writtenIn: to, at: new Date().toISOString() }).catch(() => undefined);
  const steps = [{ step: 'flip', ms: Date.now() - t0 }];
  const t1 = Date.now();
  const deadline = t1 + options.timeoutMs;
  const late: string[] = [];
  for (const [ezone, c] of conns) {
    while ((await routingVersion(c, topology)) < version) {
      if (Date.now() > deadline) {
        late.push(ezone);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 10));
    }
  }
  steps.push({ step: 'flip applied', ms: Date.now() - t1 });
  const note = [reason, ...(late.length > 0 ? [`not applied yet in ${late.join(', ')}`] : []), ...(unreachable.length > 0 ? [`${unreachable.join(', ')} will apply it when it is back`] : [])].join('; ');
  return { id, state: 'done', shards: `${shards.from}-${shards.to}`, from: plan.fromEzone, to, banVersion: null, flipVersion: version, reason: note, steps };
}

function recordOf(r: mysql.RowDataPacket): SwitchoverRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(r.id),
    from: Number(r.shard_from),
    to: Number(r.shard_to),
    fromEzone: String(r.from_ezone),
    toEzone: String(r.to_ezone),
    state: String(r.state) as SwitchoverState,
    banVersion: num(r.ban_version),
    flipVersion: num(r.flip_version),
    reason: r.reason === null ? null : String(r.reason),
  };
}
