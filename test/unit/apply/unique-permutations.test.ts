/**
 * Unique keys are order-independent (issue 13): a seeded random set of concurrent inserts from three
 * ezones, colliding on primary keys and on two case-insensitive unique keys (versions from a small
 * range, so ties are common), is delivered to every ezone in every interleaving of the other ezones'
 * streams (each stream in its own order, as Kafka keeps it), in random batch sizes. Each ezone is an
 * in-memory table with its tombstones and claims, driven by the real decision code (decide.ts and the
 * claim book, unique-claims.ts); it enforces the unique keys like the server would. Every ezone, in
 * every order, must end with the same rows — the ones the rule names: a pk's newest image survives iff
 * it is the newest claimant of each of its unique values (all images claim, losers included).
 */
import { describe, expect, it } from 'vitest';
import type { RowChange } from '../../../src/model/change.js';
import { Ownership } from '../../../src/model/ownership.js';
import { compareImages } from '../../../src/model/types/order.js';
import type { Row } from '../../../src/model/value.js';
import { compareVersions } from '../../../src/model/version.js';
import { decide, rowKey } from '../../../src/apply/decide.js';
import { addMark, type TombstoneMark } from '../../../src/db/tombstones.js';
import type { TableInfo } from '../../../src/apply/table-cache.js';
import type { IncomingChange } from '../../../src/apply/types.js';
import { claimIdOf, compareRanks, keyClaimColumns, rankOf, type ClaimValue, type Rank, type UniqueInput } from '../../../src/apply/unique-claims.js';
import { derive, reportSeedOnFailure, testSeed, type Random } from '../../support/random.js';

const TABLE = 's.t';
const UNIQUE = [['u1'], ['u2']];
const info: TableInfo = { columns: new Set(['id', 'u1', 'u2', 'who', 'updated_at']), primaryKey: ['id'], uniqueKeys: UNIQUE };
const noRules = new Ownership({ policy: 'report', shardCount: 16, routing: [], tables: {}, global: {} });
const EZONES = ['a', 'b', 'c'];

/** The collation of the model: case-insensitive ('A' and 'a' are one value), as utf8mb4_general_ci. */
const fold = (v: unknown) => String(v).toLowerCase();
const valuesOf = (row: Row): ClaimValue[] =>
  UNIQUE.filter((cols) => cols.every((c) => row[c] !== null && row[c] !== undefined)).map((columns) => ({ columns, id: claimIdOf('s', 't', columns, columns.map((c) => `w:${fold(row[c])}`)) }));
const k = (id: unknown) => rowKey(TABLE, { id: id as number });
const keyClaim = (id: unknown) => claimIdOf('s', 't', keyClaimColumns(['id']), [`v:${String(id)}`]);

/** One ezone: its table, tombstones and recorded claims, as the server and drc_meta would hold them. */
class Ezone {
  readonly table = new Map<number, Row>();
  /** Per key, the newest tombstone of each origin (db/tombstones.ts addMark). */
  readonly tombstones = new Map<number, TombstoneMark[]>();
  readonly claims = new Map<string, Rank>();

  constructor(readonly name: string) {}

  /** A local write by the application: refused (false) when the server would refuse it. */
  write(row: Row): boolean {
    if (this.table.has(row.id as number) || this.clash(row, row.id as number)) return false;
    this.table.set(row.id as number, row);
    return true;
  }

  /** A local update by the application; capture records the claims of the values its before-image held. */
  update(after: Row): Row | undefined {
    const before = this.table.get(after.id as number);
    if (!before || this.clash(after, after.id as number)) return undefined;
    this.release(before);
    this.table.set(after.id as number, after);
    return before;
  }

  /** A local delete; capture records its tombstone and the claims of the values the row held. */
  delete(id: number, version: string): Row | undefined {
    const before = this.table.get(id);
    if (!before) return undefined;
    this.release(before);
    this.tombstones.set(id, [{ version, origin: this.name }]);
    this.table.delete(id);
    return before;
  }

  private release(before: Row): void {
    for (const v of valuesOf(before)) {
      const had = this.claims.get(v.id);
      const rank = rankOf(before.updated_at as string, before);
      if (!had || compareRanks(rank, had) > 0) this.claims.set(v.id, rank);
    }
  }

  /** Apply a batch of remote changes with the real decisions, like a target transaction. */
  apply(batch: IncomingChange[]): void {
    const rows = new Map<string, Row | null>();
    const tombstones = new Map<string, TombstoneMark[]>();
    const unique: UniqueInput = { incoming: new Map(), rowValues: new Map(), holders: new Map(), holderRows: new Map(), claims: new Map(), keyClaims: new Map(), rowKeyClaims: new Map() };
    const hold = (row: Row, inBatch: boolean) => {
      unique.rowValues.set(k(row.id), valuesOf(row));
      unique.rowKeyClaims.set(k(row.id), keyClaim(row.id));
      for (const v of valuesOf(row)) unique.holders.set(v.id, k(row.id));
      if (!inBatch) unique.holderRows.set(k(row.id), row);
    };
    const batchIds = new Set(batch.map(({ change }) => change.key.id as number));
    for (const [at, { change }] of batch.entries()) {
      const id = change.key.id as number;
      const local = this.table.get(id) ?? null;
      rows.set(k(id), local);
      if (local) hold(local, true);
      const stone = this.tombstones.get(id);
      if (!local && stone) tombstones.set(k(id), stone);
      if (!change.after) continue;
      const values = valuesOf(change.after);
      unique.incoming.set(at, values);
      unique.keyClaims.set(at, keyClaim(id));
      const removed = this.claims.get(keyClaim(id));
      if (removed) unique.claims.set(keyClaim(id), removed);
      for (const v of values) {
        const stored = this.claims.get(v.id);
        if (stored) unique.claims.set(v.id, stored);
        for (const row of this.table.values()) if (valuesOf(row).some((w) => w.id === v.id)) hold(row, batchIds.has(row.id as number));
      }
    }
    const d = decide({ batch, infos: new Map([[TABLE, info]]), rows, tombstones, identities: new Map(), unique, ownership: noRules, versionColumnOf: () => 'updated_at' });
    for (const op of d.ops) {
      const id = op.key.id as number;
      if (op.kind === 'delete') {
        if (!this.table.delete(id)) throw new Error(`${this.name}: delete of missing row ${id}`);
        continue;
      }
      if (op.kind === 'insert' && this.table.has(id)) throw new Error(`${this.name}: duplicate primary key ${id}`);
      if (op.kind === 'update' && !this.table.has(id)) throw new Error(`${this.name}: update of missing row ${id}`);
      // The server's unique keys: a decision that writes a taken value would fail there.
      if (this.clash(op.image, id)) throw new Error(`${this.name}: duplicate unique value writing ${JSON.stringify(op.image)} over ${JSON.stringify([...this.table.values()])}`);
      this.table.set(id, { ...op.image });
    }
    for (const t of d.tombstones) addMark(this.tombstones, t.key.id as number, { version: t.version, origin: t.origin });
    for (const c of d.claims) {
      const had = this.claims.get(c.id);
      if (!had || compareRanks(c.rank, had) > 0) this.claims.set(c.id, c.rank);
    }
  }

  private clash(row: Row, id: number): boolean {
    const mine = new Set(valuesOf(row).map((v) => v.id));
    return [...this.table.values()].some((r) => r.id !== id && valuesOf(r).some((v) => mine.has(v.id)));
  }

  copy(): Ezone {
    const z = new Ezone(this.name);
    for (const [id, r] of this.table) z.table.set(id, r);
    for (const [id, v] of this.tombstones) z.tombstones.set(id, v);
    for (const [id, r] of this.claims) z.claims.set(id, r);
    return z;
  }

  state(): string {
    return JSON.stringify([...this.table.values()].sort((x, y) => (x.id as number) - (y.id as number)));
  }
}

/** The rule itself, from the whole set of images: each pk's newest image, kept iff newest on each of its values. */
function expected(changes: RowChange[]): string {
  const images = changes.flatMap((c) => (c.after ? [c.after] : []));
  const deleted = new Map<number, string>();
  for (const c of changes) if (c.op === 'delete' && compareVersions(c.version, deleted.get(c.key.id as number)) > 0) deleted.set(c.key.id as number, c.version as string);
  const rank = (r: Row) => rankOf(r.updated_at as string, r);
  const newestOfKey = new Map<number, Row>();
  for (const r of images) {
    const had = newestOfKey.get(r.id as number);
    if (!had || compareImages(r.updated_at as string, r, had.updated_at as string, had) > 0) newestOfKey.set(r.id as number, r);
  }
  const newestClaim = new Map<string, Rank>();
  for (const r of images) for (const v of valuesOf(r)) if (!newestClaim.has(v.id) || compareRanks(rank(r), newestClaim.get(v.id)!) > 0) newestClaim.set(v.id, rank(r));
  // A delete wins over images of its version or older (rules 3 and 4).
  const alive = [...newestOfKey.values()].filter((r) => compareVersions(deleted.get(r.id as number), r.updated_at as string) < 0);
  const survivors = alive.filter((r) => valuesOf(r).every((v) => compareRanks(rank(r), newestClaim.get(v.id)!) === 0));
  return JSON.stringify(survivors.sort((x, y) => (x.id as number) - (y.id as number)));
}

/** Every interleaving of the streams, each stream's order kept. */
function* interleavings<T>(streams: T[][]): Generator<T[]> {
  if (streams.every((s) => s.length === 0)) {
    yield [];
    return;
  }
  for (const [i, s] of streams.entries()) {
    if (s.length === 0) continue;
    const rest = streams.map((t, j) => (j === i ? t.slice(1) : t));
    for (const tail of interleavings(rest)) yield [s[0] as T, ...tail];
  }
}

/** Cut a sequence into batches of random sizes (a target transaction groups several changes). */
function batches<T>(items: T[], random: Random): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; ) {
    const n = 1 + random.int(3);
    out.push(items.slice(i, i + n));
    i += n;
  }
  return out;
}

/**
 * Each ezone's local writes: inserts with ids and values from small pools, so they collide across
 * ezones; then, sometimes, an update of one of its rows (new unique values: the old ones are
 * released) or a delete. Returns the changes each ezone ships and the ezone as its writes left it.
 */
function workload(random: Random): { shipped: Map<string, IncomingChange[]>; zones: Map<string, Ezone> } {
  const pick = <T,>(xs: T[]) => xs[random.int(xs.length)] as T;
  const shipped = new Map<string, IncomingChange[]>();
  const zones = new Map<string, Ezone>();
  const values = () => ({ u1: pick(['a', 'A', 'b', null]), u2: pick(['x', 'X', 'y', null]) });
  for (const ez of EZONES) {
    const local = new Ezone(ez);
    const changes: IncomingChange[] = [];
    const ship = (change: RowChange) => changes.push({ change, origin: ez, txId: `${ez}-${changes.length}` });
    for (let n = 0; n < 2; n++) {
      const id = 1 + random.int(5);
      const row: Row = { id, ...values(), who: `${ez}${n}`, updated_at: String(1 + random.int(4)) };
      if (!local.write(row)) continue; // the application's own server refused it
      ship({ schema: 's', table: 't', op: 'insert', key: { id }, after: row, version: row.updated_at as string });
    }
    const mine = [...local.table.values()];
    const target = mine.length > 0 && random.next() < 0.6 ? pick(mine) : undefined;
    if (target) {
      const version = String(Number(target.updated_at) + 1 + random.int(2));
      const id = target.id as number;
      if (random.next() < 0.6) {
        const after: Row = { ...target, ...values(), who: `${ez}u`, updated_at: version };
        const before = local.update(after);
        if (before) ship({ schema: 's', table: 't', op: 'update', key: { id }, before, after, version });
      } else {
        const before = local.delete(id, version);
        if (before) ship({ schema: 's', table: 't', op: 'delete', key: { id }, before, version });
      }
    }
    shipped.set(ez, changes);
    zones.set(ez, local);
  }
  return { shipped, zones };
}

describe('unique keys: the newest claimant of every value survives, in every arrival order (issue 13)', () => {
  it('three ezones, every interleaving of the remote streams, random batch sizes: one outcome, the rule\'s', () => {
    const seed = testSeed();
    reportSeedOnFailure(seed, 'unique-key permutations');
    let orders = 0;
    let collisions = 0;
    for (let round = 0; round < 120; round++) {
      const random = derive(seed, round);
      const { shipped: local, zones } = workload(random);
      const all = [...local.values()].flat().map((c) => c.change);
      const images = all.flatMap((c) => (c.after ? [c.after] : []));
      const want = expected(all);
      if (process.env.DRC_DEBUG_ROUND === String(round)) process.stderr.write(JSON.stringify([...local.entries()].map(([e, cs]) => [e, cs.map((c) => c.change.after)])) + '\n');
      for (const ez of EZONES) {
        const remote = EZONES.filter((e) => e !== ez).map((e) => local.get(e) ?? []);
        for (const order of interleavings(remote)) {
          const zone = zones.get(ez)!.copy();
          for (const batch of batches(order, random)) zone.apply(batch);
          expect(zone.state(), `round ${round}, ezone ${ez}, order ${order.map((c) => c.txId).join(' ')}`).toBe(want);
          orders++;
        }
      }
      if (JSON.parse(want).length < new Set(images.map((r) => r.id)).size) collisions++;
    }
    // The workload must actually collide (else the test proves nothing): most rounds lose a row.
    expect(collisions).toBeGreaterThan(60);
    expect(orders).toBeGreaterThan(1000);
  }, 60_000);

  it('the cycle X(a,b) v2, Y(a) v1, Z(b) v3 across three ezones: Z alone, in all 6 arrival orders of each ezone', () => {
    const mk = (id: number, u1: string | null, u2: string | null, v: string, origin: string): IncomingChange => ({
      change: { schema: 's', table: 't', op: 'insert', key: { id }, after: { id, u1, u2, who: origin, updated_at: v }, version: v },
      origin,
      txId: `${origin}-${id}`,
    });
    const all = [mk(1, 'a', 'b', '2', 'a'), mk(2, 'a', null, '1', 'b'), mk(3, null, 'b', '3', 'c')];
    const perms = (xs: IncomingChange[]): IncomingChange[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
    const finals = new Set<string>();
    for (const order of perms(all)) {
      // The first of the order is the local write; the others arrive one by one.
      const zone = new Ezone(order[0]!.origin);
      zone.write(order[0]!.change.after as Row);
      for (const c of order.slice(1)) zone.apply([c]);
      finals.add(zone.state());
      // All three arriving in one batch decide the same.
      const batched = new Ezone('d');
      batched.apply(order);
      finals.add(batched.state());
    }
    expect([...finals]).toEqual([JSON.stringify([{ id: 3, u1: null, u2: 'b', who: 'c', updated_at: '3' }])]);
  });
});
