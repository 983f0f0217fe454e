/**
 * `drc switchover --force` (issue 17): rows the unreachable old owner wrote before the forced flip,
 * arriving once it is back, are flagged where they arrive — conflict records `forced-late`,
 * drc_conflicts_total{reason="forced-late"}, one warning per table without row values — and
 * last-writer-wins decides them; rows it writes after applying the flip are ownership violations.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { switchover } from '../../src/admin/switchover.js';
import { KEPT_FOR_PUBLISHING } from '../../src/apply/conflict-log.js';
import type { Config } from '../../src/config/schema.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import { ensureMetaSchema } from '../../src/db/meta-schema.js';
import { peerRoutingOf, scopeOf, seedRouting } from '../../src/db/routing-store.js';
import { shardOf } from '../../src/model/ownership.js';
import { describeWithServers } from '../support/env.js';
import { reconfigure } from '../support/reconfigure.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, eventually, scenario, type Scenario } from '../support/scenario.js';
import { takeTestLog, testLogger } from '../support/test-logger.js';
import { waitFor } from '../support/wait.js';

const SHARDS = 16;
/** Users of shards 0-7 (a's at version 1). */
const movingUsers = (() => {
  const out: number[] = [];
  for (let u = 1; out.length < 3; u++) if (shardOf(u, SHARDS) <= 7) out.push(u);
  return out;
})();
/** A value that must never appear in a log line. */
const MARKER = 918_273_645;

async function setUp(): Promise<Scenario> {
  const s = await scenario('forced_late', {}, { ezones: ['a', 'b', 'c'] });
  reconfigure(s, (c) => ({
    ...c,
    ownership: { policy: 'report', shardCount: SHARDS, routing: [{ shards: '0-7', ezone: 'a' }, { shards: '8-15', ezone: 'b' }], tables: { [`${s.schema}.orders`]: { function: 'hash', column: 'user_id' } } },
  }));
  for (const ez of ['a', 'b', 'c']) await s.db[ez]!.query('CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id INT NOT NULL, amount INT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
  return s;
}

/**
 * The operator's view with ezone a unreachable (its port closed). Ezone c, the new ezone that joins
 * later, is not in it yet.
 */
const withoutA = (config: Config): Config => {
  const { c: _joinsLater, ...ezones } = config.ezones;
  return { ...config, ezones: { ...ezones, a: { ...config.ezones.a!, mysql: { ...config.ezones.a!.mysql, port: 9, connectTimeoutMs: 1000 } } } };
};

describeWithServers('forced switchover: the old owner’s late rows', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('flags the rows the old owner wrote before a forced flip that arrive after it, decides them by last-writer-wins, and records its later writes as violations', async () => {
    s = await setUp();
    const log = testLogger();
    // b re-reads drc_meta.routing only once an hour here: its appliers must learn of the forced flip
    // written in its database without that polling (each transaction reads the forced flips).
    daemons.push(...(await startDaemons(s, ['a'])), ...(await startDaemons(s, ['b'], { routingRefreshMs: 3_600_000 })));
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (1, ?, 1)', [movingUsers[0]]);
    await converge(s, 'orders', ['a', 'b'], { rows: 1 });
    // a's DRC dies; a's applications write on (a still owns 0-7 by the routing it has).
    const [a, b] = daemons.splice(0);
    await a!.close();
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (2, ?, ?), (3, ?, ?)', [movingUsers[1], MARKER, movingUsers[2], MARKER]);
    await s.db.a!.query('UPDATE orders SET amount = ? WHERE id = 1', [MARKER]);

    const forced = await switchover(withoutA(s.config), { shards: { from: 0, to: 7 }, to: 'b', force: true, timeoutMs: 15_000, resume: false, log });
    expect(forced).toMatchObject({ state: 'done', from: 'a', to: 'b' });
    // b writes the shards from the flip on: row 3 here is newer than a's late one.
    await s.db.b!.query('INSERT INTO orders (id, user_id, amount) VALUES (3, ?, 33)', [movingUsers[2]]);

    // a comes back: it ships what it held, and applies the flip.
    daemons.push(b!, ...(await startDaemons(s, ['a'])));
    // What b holds, conflicts and rows, as the wait's last value: a timeout shows where it stands.
    const seen = async () => ({ conflicts: (await conflictsIn(s!, 'b')).map((c) => `${c.reason} ${c.origin} ${c.key_json}`), rows: (await s!.db.b!.query<mysql.RowDataPacket[]>('SELECT id, amount FROM orders ORDER BY id'))[0].map((r) => `${Number(r.id)}:${Number(r.amount) === MARKER ? 'marker' : Number(r.amount)}`), captured: daemons[1]?.capture.stats.rowChanges, wrongWrites: daemons[1]?.capture.stats.wrongWrites, applied: b!.appliers.get('a')!.stats.rowChanges });
    await waitFor(seen, { what: 'b recording the late rows', until: (v) => v.conflicts.filter((c) => c.startsWith('forced-late')).length >= 3, timeoutMs: 120_000, intervalMs: 200 });
    const late = (await conflictsIn(s, 'b')).filter((c) => c.reason === 'forced-late');
    expect(late.map((c) => [JSON.parse(c.key_json), c.origin, c.decision])).toEqual([
      [{ id: 2 }, 'a', 'applied'],
      [{ id: 3 }, 'a', 'skipped'], // lost to b's newer row 3 (last-writer-wins)
      [{ id: 1 }, 'a', 'applied'],
    ]);
    expect((await conflictsIn(s, 'b')).filter((c) => c.reason === 'ownership')).toEqual([]);
    expect(b!.appliers.get('a')!.stats.conflictsByReason['forced-late']).toBe(3);
    // Last-writer-wins: a's row 3 lost to b's newer one, everywhere.
    await converge(s, 'orders', ['a', 'b'], { rows: 3 });
    const [[three]] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT amount FROM orders WHERE id = 3');
    expect(Number(three!.amount)).toBe(33);
    const lines = takeTestLog();
    expect(lines).toMatch(/rows the old owner wrote before a forced switchover arrived after it/);
    expect(lines).not.toContain(String(MARKER));

    // Once a has applied the flip, a write of its old shards is an ownership violation, not a late row.
    await eventually('a applying the flip', async () => {
      const [[r]] = await s!.db.a!.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM drc_meta.routing WHERE topology = ? AND shard <= 7 AND owner = ?', [s!.prefix, 'b']);
      return Number(r!.n) === 8;
    });
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (4, ?, 4)', [movingUsers[0]]);
    await eventually('the violation recorded in b', async () => (await conflictsIn(s!, 'b')).some((c) => c.reason === 'ownership' && JSON.parse(c.key_json).id === 4));
    expect((await conflictsIn(s, 'b')).filter((c) => c.reason === 'forced-late')).toHaveLength(3);

    // The flip's cut: the next offset of a's topic b had applied when it was written (row 1's insert was before it).
    const [[flip]] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT * FROM drc_meta.switchovers WHERE id = ?', [forced.id]);
    expect(flip!.cut_offset).not.toBeNull();
    // A new ezone c joins: it copies a peer's routing and, with it, the forced switchover's record and
    // its cut (what the daemon does at start, here first so that nothing replicated can bring the
    // record before it), then replays a's topic from its start: a's rows b had before the flip (row
    // 1's insert) are not late there; those after the cut are.
    await ensureMetaSchema(s.db.c!);
    expect(await seedRouting(s.db.c!, scopeOf(s.config), peerRoutingOf(s.config, 'c'))).toBe(SHARDS);
    const [[copied]] = await s.db.c!.query<mysql.RowDataPacket[]>('SELECT state, cut_offset, flip_version FROM drc_meta.switchovers WHERE id = ?', [forced.id]);
    expect(copied).toMatchObject({ state: 'done', cut_offset: flip!.cut_offset, flip_version: flip!.flip_version });
    daemons.push(...(await startDaemons(s, ['c'])));
    await converge(s, 'orders', ['a', 'b', 'c'], { rows: 4 });
    const lateInC = await waitFor(async () => (await conflictsIn(s!, 'c')).filter((c) => c.reason === 'forced-late'), { what: 'c recording the late rows', until: (v) => v.length >= 3, timeoutMs: 60_000, intervalMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 1000)); // nothing more comes
    expect((await conflictsIn(s, 'c')).filter((c) => c.reason === 'forced-late').map((c) => [JSON.parse(c.key_json), c.origin])).toEqual([
      [{ id: 2 }, 'a'],
      [{ id: 3 }, 'a'],
      [{ id: 1 }, 'a'],
    ]);
    expect(lateInC).toHaveLength(3);
  }, 240_000);

  it('flags a late transaction that read the forced flips before the flip committed and wrote its applied position after it (it waited for a row lock in between)', async () => {
    s = await setUp();
    const log = testLogger();
    daemons.push(...(await startDaemons(s, ['a'])), ...(await startDaemons(s, ['b'], { routingRefreshMs: 3_600_000 })));
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES (1, ?, 1)', [movingUsers[0]]);
    await converge(s, 'orders', ['a', 'b'], { rows: 1 });
    // A session of b holds row 1: the applier's transaction of a's update reads the forced flips (none
    // yet) with its row reads, then waits for the lock.
    const holder = await connectEzone('b', s.schema);
    try {
      await holder.beginTransaction();
      await holder.query('SELECT * FROM orders WHERE id = 1 FOR UPDATE');
      await s.db.a!.query('UPDATE orders SET amount = 2 WHERE id = 1');
      await eventually('b’s applier waiting for row 1', async () => {
        const [[w]] = await s!.db.b!.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'");
        return Number(w!.n) > 0;
      });
      // The forced flip commits while it waits (its cut: b's applied position, this transaction not in it).
      const forced = await switchover(withoutA(s.config), { shards: { from: 0, to: 7 }, to: 'b', force: true, timeoutMs: 5_000, resume: false, log });
      expect(forced).toMatchObject({ state: 'done', from: 'a', to: 'b' });
      const [[still]] = await s.db.b!.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'");
      expect(Number(still!.n)).toBeGreaterThan(0); // the same transaction, not a retry that would read again
    } finally {
      await holder.rollback().catch(() => undefined);
      await holder.end();
    }
    await converge(s, 'orders', ['a', 'b'], { rows: 1 });
    const late = await waitFor(async () => (await conflictsIn(s!, 'b')).filter((c) => c.reason === 'forced-late'), { what: 'b flagging a’s late update', until: (v) => v.length >= 1, timeoutMs: 30_000, intervalMs: 200 });
    expect(late.map((c) => [JSON.parse(c.key_json), c.origin, c.decision])).toEqual([[{ id: 1 }, 'a', 'applied']]);
    const stats = daemons[1]!.appliers.get('a')!.stats;
    expect(stats.conflictsByReason['forced-late']).toBe(1);
    // Its commit's check saw the flip: rolled back and applied again (the first attempt committed nothing).
    expect(stats.retries).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('applies a big transaction chunk by chunk, keeps nothing per row beyond the published conflicts, and applies it again when a forced flip commits between its chunks: every row flagged once', async () => {
    s = await setUp();
    // Small messages: a's update of 6,000 rows travels in many chunks (one target transaction in b).
    reconfigure(s, (c) => ({ ...c, kafka: { ...(c.kafka as object), maxMessageBytes: 16_384 } }));
    const log = testLogger();
    daemons.push(...(await startDaemons(s, ['a'])), ...(await startDaemons(s, ['b'], { routingRefreshMs: 3_600_000 })));
    const ROWS = KEPT_FOR_PUBLISHING + 1_000;
    const HELD = ROWS / 2;
    const values = Array.from({ length: ROWS }, (_, i) => [i + 1, movingUsers[i % movingUsers.length]!, 0]);
    await s.db.a!.query('INSERT INTO orders (id, user_id, amount) VALUES ?', [values]);
    await converge(s, 'orders', ['a', 'b'], { rows: ROWS });
    const holder = await connectEzone('b', s.schema);
    try {
      // A row in the middle is held in b: the chunks before it apply, the one holding it waits for the lock.
      await holder.beginTransaction();
      await holder.query('SELECT * FROM orders WHERE id = ? FOR UPDATE', [HELD]);
      await s.db.a!.query('UPDATE orders SET amount = id');
      await eventually('b’s applier waiting for the held row', async () => {
        const [[w]] = await s!.db.b!.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'");
        return Number(w!.n) > 0;
      });
      const forced = await switchover(withoutA(s.config), { shards: { from: 0, to: 7 }, to: 'b', force: true, timeoutMs: 5_000, resume: false, log });
      expect(forced).toMatchObject({ state: 'done', from: 'a', to: 'b' });
    } finally {
      await holder.rollback().catch(() => undefined);
      await holder.end();
    }
    const late = await waitFor(async () => (await conflictsIn(s!, 'b')).filter((c) => c.reason === 'forced-late'), { what: 'b flagging a’s late update', until: (v) => v.length >= ROWS, timeoutMs: 60_000, intervalMs: 250 });
    await new Promise((resolve) => setTimeout(resolve, 500)); // nothing more comes
    expect((await conflictsIn(s, 'b')).filter((c) => c.reason === 'forced-late')).toHaveLength(ROWS);
    expect(new Set(late.map((c) => JSON.parse(c.key_json).id)).size).toBe(ROWS);
    expect(late.every((c) => c.origin === 'a' && c.decision === 'applied')).toBe(true);
    const [[sum]] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT SUM(amount) AS total FROM orders');
    expect(Number(sum!.total)).toBe((ROWS * (ROWS + 1)) / 2);
    const stats = daemons[1]!.appliers.get('a')!.stats;
    expect(stats.conflictsByReason['forced-late']).toBe(ROWS);
    expect(stats.retries).toBeGreaterThanOrEqual(1);
    // Past KEPT_FOR_PUBLISHING, records are in drc_meta.conflicts only, and the log says so.
    const omitted = takeTestLog()
      .split('\n')
      .filter((l) => l.includes('a big transaction met more conflicts than are published'))
      .map((l) => JSON.parse(l) as { published: number; omitted: number });
    expect(omitted).toHaveLength(1);
    expect(omitted[0]!.published).toBeGreaterThanOrEqual(KEPT_FOR_PUBLISHING);
    expect(omitted[0]!.published + omitted[0]!.omitted).toBe(ROWS);
  }, 180_000);
});

