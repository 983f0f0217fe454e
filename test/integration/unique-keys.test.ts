/**
 * Issue 13, unique keys: a row survives iff it is the newest claimant of every unique value it holds,
 * whatever the arrival order and the number of ezones. The cycle X (u1=a, u2=b), Y (u1=a), Z (u2=b)
 * with versions Y < X < Z ends with Z alone in every ezone (X loses b to Z; Y loses a to X, which
 * claimed it even though X itself lost), for several arrival orders (daemons started in stages);
 * case-insensitive unique values ('A@x' / 'a@x' / 'a@X ') are one value; a claim outlives the row
 * that released its value, so an older claimant arriving later still loses.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { LOOKUP_COLUMN, recordClaimsStatement, rowsWithWeights, valueWeights, weightColumn } from '../../src/apply/sql/claims.js';
import { TableCache } from '../../src/apply/table-cache.js';
import { claimIdOf, rankOf, type ClaimRecord } from '../../src/apply/unique-claims.js';
import { ensureMetaSchema } from '../../src/db/meta-schema.js';
import { runDrc } from '../support/cli.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';

const CYCLE_TABLE = (t: string) =>
  `CREATE TABLE ${t} (id INT PRIMARY KEY, u1 VARCHAR(10) NULL UNIQUE, u2 VARCHAR(10) NULL UNIQUE, who VARCHAR(8) NOT NULL, updated_at DATETIME(6) NOT NULL)`;
const EMAIL_TABLE = (t: string) =>
  `CREATE TABLE ${t} (id INT PRIMARY KEY, email VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, note VARCHAR(8) NULL, updated_at DATETIME(6) NOT NULL, UNIQUE KEY by_email (email))`;

async function checksum(conn: mysql.Connection, table: string): Promise<string> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
  return String(rows[0]?.Checksum);
}

async function ids(conn: mysql.Connection, table: string): Promise<number[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT id FROM ${table} ORDER BY id`);
  return rows.map((r) => Number(r.id));
}

/** Converged, proven three ways: the same rows, CHECKSUM TABLE equal, drc verify with no difference. */
async function settled(s: Scenario, table: string, ezones: string[], expectedIds: number[]): Promise<void> {
  await converge(s, table, ezones, { rows: expectedIds.length, timeoutMs: 90_000 });
  for (const ez of ezones) expect(await ids(s.db[ez]!, table), `${table} in ${ez}`).toEqual(expectedIds);
  const sums = await Promise.all(ezones.map((ez) => checksum(s.db[ez]!, table)));
  expect(new Set(sums).size, `CHECKSUM TABLE ${table}: ${sums.join(', ')}`).toBe(1);
  const res = await runDrc(['verify', '--config', s.configFile, '--tables', `${s.schema}.${table}`, '--json']);
  expect(res.code, res.stdout + res.stderr).toBe(0);
  expect(JSON.parse(res.stdout).differences).toEqual([]);
}

describeWithServers('unique keys: the newest claimant of every unique value survives (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  /**
   * Run daemons in stages, each for a few seconds (a stage's daemons ship their ezone's changes and
   * apply what the earlier stages shipped); the last stage keeps running.
   */
  async function stages(order: string[][]): Promise<void> {
    for (const [i, stage] of order.entries()) {
      daemons.push(...(await startDaemons(s!, stage)));
      if (i === order.length - 1) return;
      await new Promise((r) => setTimeout(r, 3000));
      await stopDaemons(daemons);
    }
  }

  /** Every stream gets a resume point (a first daemon starts capture at the binlog's end); then all stop. */
  async function primeStreams(ezones: string[], table: string): Promise<void> {
    daemons.push(...(await startDaemons(s!, ezones)));
    for (const [i, ez] of ezones.entries()) await s!.db[ez]!.query(`INSERT INTO ${table} (id, u1, u2, who, updated_at) VALUES (?, NULL, NULL, ?, '2020-01-01')`, [100 + i, ez]);
    await converge(s!, table, ezones, { rows: ezones.length });
    await stopDaemons(daemons);
  }

  it('on the server: weight strings make one identity of values a unique index holds equal, and a recorded claim only grows', async () => {
    s = await scenario('unique-sql', {}, { ezones: ['a'] });
    const db = s.db.a!;
    await ensureMetaSchema(db);
    await db.query(`CREATE TABLE w (id INT PRIMARY KEY,
      ci VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, ai VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci,
      np VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, l1 VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci, updated_at DATETIME(6) NOT NULL)`);
    await db.query("INSERT INTO w VALUES (1, 'Alice', 'é', 'x', 'Åsa', '2030-01-01')");
    const info = (await new TableCache(db).get(s.schema, 'w'))!;
    const cols = ['ci', 'ai', 'np', 'l1'];
    const stored = rowsWithWeights(s.schema, 'w', [{ columns: ['id'], values: { id: 1 } }], info, cols);
    const [[row]] = (await db.query(stored.sql, stored.params)) as unknown as [mysql.RowDataPacket[]];
    const probe = valueWeights([{ values: { ci: 'alice  ', ai: 'E', np: 'x ', l1: 'åsa' }, columns: cols }], info);
    const [[w]] = (await db.query(probe.sql, probe.params)) as unknown as [mysql.RowDataPacket[]];
    expect(Number(w![LOOKUP_COLUMN])).toBe(0);
    // Equal under the collation (case, accents, PAD SPACE trailing spaces): the same weight string ...
    for (const c of ['ci', 'ai', 'l1']) expect(w![weightColumn(c)], c).toBe(row![weightColumn(c)]);
    // ... but NO PAD keeps the trailing space significant, as the index does.
    expect(w![weightColumn('np')]).not.toBe(row![weightColumn('np')]);

    const claim = (version: string, who: string): ClaimRecord => ({ id: claimIdOf(s!.schema, 'w', ['ci'], ['w:1']), schema: s!.schema, table: 'w', columns: ['ci'], rank: rankOf(version, { id: 1, who }), key: { id: 1 }, origin: who });
    const newest = async () => {
      const [[r]] = (await db.query('SELECT version, origin FROM drc_meta.unique_claims WHERE claim_hash = UNHEX(?)', [claim('0', '').id])) as unknown as [mysql.RowDataPacket[]];
      return [String(r!.version), String(r!.origin)];
    };
    for (const c of [claim('5', 'm'), claim('9', 'z'), claim('7', 'q'), claim('9', 'a')]) {
      const st = recordClaimsStatement([c])!;
      await db.query(st.sql, st.params);
    }
    // Version 9 twice: the tie-break text decides ('z' orders after 'a'), and never an older claim.
    expect(await newest()).toEqual(['9', 'z']);
    const both = recordClaimsStatement([claim('11', 'b'), claim('10', 'y')])!;
    await db.query(both.sql, both.params);
    expect(await newest()).toEqual(['11', 'b']);
    await db.query('DELETE FROM drc_meta.unique_claims WHERE schema_name = ?', [s.schema]);
  });

  it('the cycle X(a,b) in a, Y(a) and Z(b) in b, versions Y < X < Z: Z alone survives in both ezones, in either arrival order', async () => {
    const ezones = ['a', 'b'];
    s = await scenario('unique-cycle-2', {}, { ezones });
    for (const ez of ezones) for (const t of ['c1', 'c2']) await s.db[ez]!.query(CYCLE_TABLE(t));
    await primeStreams(ezones, 'c1');
    await primeStreams(ezones, 'c2');
    const cycle = async (t: string) => {
      await s!.db.a!.query(`INSERT INTO ${t} VALUES (1, 'a', 'b', 'X', '2030-01-01 00:00:02')`);
      await s!.db.b!.query(`INSERT INTO ${t} VALUES (2, 'a', NULL, 'Y', '2030-01-01 00:00:01')`);
      await s!.db.b!.query(`INSERT INTO ${t} VALUES (3, NULL, 'b', 'Z', '2030-01-01 00:00:03')`);
    };
    // Order 1: both daemons at once (X reaches b, Y and Z reach a, concurrently).
    await cycle('c1');
    daemons.push(...(await startDaemons(s, ezones)));
    await settled(s, 'c1', ezones, [3, 100, 101]);
    await stopDaemons(daemons);
    // Order 2: b ships Y and Z first; a alone applies them (and ships X); then b applies X.
    await cycle('c2');
    await stages([['b'], ['a'], ezones]);
    await settled(s, 'c2', ezones, [3, 100, 101]);
    // Each ezone recorded the collisions it resolved.
    for (const ez of ezones) expect((await conflictsIn(s, ez)).filter((c) => c.table_name === 'c2' && c.reason === 'unique-collision').length, ez).toBeGreaterThan(0);
  });

  it('the cycle across three ezones (X in a, Y in b, Z in c) ends with Z alone everywhere, for three arrival orders', async () => {
    const ezones = ['a', 'b', 'c'];
    s = await scenario('unique-cycle-3', {}, { ezones });
    const tables = ['c1', 'c2', 'c3'];
    for (const ez of ezones) for (const t of tables) await s.db[ez]!.query(CYCLE_TABLE(t));
    await primeStreams(ezones, 'c1');
    for (const t of tables.slice(1)) for (const [i, ez] of ezones.entries()) await s.db[ez]!.query(`INSERT INTO ${t} VALUES (?, NULL, NULL, ?, '2020-01-01')`, [100 + i, ez]);
    const cycle = async (t: string) => {
      await s!.db.a!.query(`INSERT INTO ${t} VALUES (1, 'a', 'b', 'X', '2030-01-01 00:00:02')`);
      await s!.db.b!.query(`INSERT INTO ${t} VALUES (2, 'a', NULL, 'Y', '2030-01-01 00:00:01')`);
      await s!.db.c!.query(`INSERT INTO ${t} VALUES (3, NULL, 'b', 'Z', '2030-01-01 00:00:03')`);
    };
    // The daemons run in stages: who hears whom first differs from one round to the next.
    const rounds: [string, string[][]][] = [
      ['c1', [ezones]],
      ['c2', [['b', 'c'], ezones]],
      ['c3', [['a'], ['c'], ['b'], ezones]],
    ];
    for (const [t, order] of rounds) {
      await cycle(t);
      await stages(order);
      await settled(s, t, ezones, [3, 100, 101, 102]);
      await stopDaemons(daemons);
    }
  });

  it('the cycle with X a primary-key change (UPDATE … SET id, u1, u2 in a) ends with Z alone everywhere: a moved row claims like an inserted one', async () => {
    const ezones = ['a', 'b', 'c'];
    s = await scenario('unique-cycle-rekey', {}, { ezones });
    const tables = ['k1', 'k2'];
    for (const ez of ezones) for (const t of tables) await s.db[ez]!.query(CYCLE_TABLE(t));
    await primeStreams(ezones, 'k1');
    for (const t of tables.slice(1)) for (const [i, ez] of ezones.entries()) await s.db[ez]!.query(`INSERT INTO ${t} VALUES (?, NULL, NULL, ?, '2020-01-01')`, [100 + i, ez]);
    // Row 1 exists everywhere first (shipped from a), then moves to key 2 with both values.
    for (const t of tables) await s.db.a!.query(`INSERT INTO ${t} VALUES (1, NULL, NULL, 'X0', '2020-01-01')`);
    daemons.push(...(await startDaemons(s, ezones)));
    for (const t of tables) await converge(s, t, ezones, { rows: 4, timeoutMs: 60_000 });
    await stopDaemons(daemons);
    const cycle = async (t: string) => {
      await s!.db.a!.query(`UPDATE ${t} SET id = 2, u1 = 'a', u2 = 'b', who = 'X', updated_at = '2030-01-01 00:00:02' WHERE id = 1`);
      await s!.db.b!.query(`INSERT INTO ${t} VALUES (5, 'a', NULL, 'Y', '2030-01-01 00:00:01')`);
      await s!.db.c!.query(`INSERT INTO ${t} VALUES (6, NULL, 'b', 'Z', '2030-01-01 00:00:03')`);
    };
    const rounds: [string, string[][]][] = [
      ['k1', [['b', 'c'], ezones]],
      ['k2', [['c'], ['b'], ['a'], ezones]],
    ];
    for (const [t, order] of rounds) {
      await cycle(t);
      await stages(order);
      await settled(s, t, ezones, [6, 100, 101, 102]);
      await stopDaemons(daemons);
    }
  });

  it("case-insensitive unique values ('A@x', 'a@x', 'a@X ' under utf8mb4_general_ci) are one value: the newest claimant survives everywhere", async () => {
    const ezones = ['a', 'b', 'c'];
    s = await scenario('unique-ci', {}, { ezones });
    for (const ez of ezones) {
      await s.db[ez]!.query(EMAIL_TABLE('users'));
      await s.db[ez]!.query(CYCLE_TABLE('prime'));
    }
    await primeStreams(ezones, 'prime');
    await s.db.a!.query("INSERT INTO users VALUES (1, 'A@x', 'a', '2030-01-01 00:00:02')");
    await s.db.b!.query("INSERT INTO users VALUES (2, 'a@x', 'b', '2030-01-01 00:00:01')");
    await s.db.c!.query("INSERT INTO users VALUES (3, 'a@X ', 'c', '2030-01-01 00:00:03')"); // PAD SPACE: the trailing space is no difference
    await s.db.c!.query("INSERT INTO users VALUES (4, 'other@x', 'c', '2030-01-01 00:00:03')");
    daemons.push(...(await startDaemons(s, ezones)));
    await settled(s, 'users', ezones, [3, 4]);
    const [rows] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT HEX(email) AS e FROM users WHERE id = 3');
    expect(rows[0]?.e).toBe(Buffer.from('a@X ').toString('hex').toUpperCase());
  });

  for (const release of ['update', 'delete'] as const) {
    it(`a value released by a local ${release} keeps its claim: an older claimant arriving after the release loses everywhere`, async () => {
      const ezones = ['a', 'b'];
      s = await scenario(`unique-release-${release}`, {}, { ezones });
      for (const ez of ezones) {
        await s.db[ez]!.query(EMAIL_TABLE('users'));
        await s.db[ez]!.query(CYCLE_TABLE('prime'));
      }
      await primeStreams(ezones, 'prime');
      // b: row 2 claims a@x at version 1. a: row 1 claims A@x at version 2, then releases it (version 4).
      await s.db.b!.query("INSERT INTO users VALUES (2, 'a@x', 'b', '2030-01-01 00:00:01')");
      await s.db.a!.query("INSERT INTO users VALUES (1, 'A@x', 'a', '2030-01-01 00:00:02')");
      // b hears of row 1 (and removes row 2) before a hears of row 2: a ships row 1, then b alone applies it.
      await stages([['a'], ['b'], []]);
      // Meanwhile, a releases A@x: without a claim (capture records it), a would now take row 2, which b removed.
      if (release === 'update') await s.db.a!.query("UPDATE users SET email = 'new@x', updated_at = '2030-01-01 00:00:04' WHERE id = 1");
      else await s.db.a!.query('DELETE FROM users WHERE id = 1');
      daemons.push(...(await startDaemons(s, ezones)));
      await settled(s, 'users', ezones, release === 'update' ? [1] : []);
      if (release === 'update') {
        const [rows] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT email FROM users');
        expect(rows.map((r) => r.email)).toEqual(['new@x']);
      }
    });
  }

  it('a key change that loses a unique value to its own old row removes the older row at its new key in every ezone, and does not write it back', async () => {
    const ezones = ['a', 'b'];
    s = await scenario('unique-rekey-loses', {}, { ezones });
    for (const ez of ezones) await s.db[ez]!.query(CYCLE_TABLE('rk'));
    daemons.push(...(await startDaemons(s, ezones)));
    await s.db.a!.query("INSERT INTO rk (id, u1, u2, who, updated_at) VALUES (14, NULL, 'g', 'a', '2030-01-01 00:00:00'), (19, NULL, NULL, 'a', '2030-01-01 00:00:00')");
    await converge(s, 'rk', ezones, { rows: 2 });
    await stopDaemons(daemons);
    // b moves row 14 (u2 = g) to key 19 at version 2, after deleting row 19 (version: now, the oldest here).
    await s.db.b!.query('DELETE FROM rk WHERE id = 19');
    await s.db.b!.query("UPDATE rk SET id = 19, who = 'b', updated_at = '2030-01-01 00:00:02' WHERE id = 14");
    // a, concurrently, updates row 19 at version 1 (older than the move) and row 14 at version 3 (newer: it keeps g).
    await s.db.a!.query("UPDATE rk SET who = 'a1', updated_at = '2030-01-01 00:00:01' WHERE id = 19");
    await s.db.a!.query("UPDATE rk SET who = 'a3', updated_at = '2030-01-01 00:00:03' WHERE id = 14");
    daemons.push(...(await startDaemons(s, ezones)));
    // In a, the move loses g to row 14 (newer) and, newer than row 19, removes it; in b, row 14 (version 3)
    // takes g back from the moved row. Both: row 14 alone.
    await settled(s, 'rk', ezones, [14]);
  });
});
