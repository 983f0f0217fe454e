/**
 * Issue 13, prefix unique keys (`UNIQUE KEY (name(4))`): the index holds only the first characters
 * (bytes, for a binary column), so two rows that differ after the prefix collide — the server refuses
 * the second — and DRC's claims must see one value there too: the newest claimant survives in every
 * ezone, with no stall. Two rows that differ within the prefix both survive. PAD SPACE and the
 * collation apply to the prefix ('mn' and 'MN  x' share the prefix 'mn'). Under utf8mb4_general_ci
 * and utf8mb4_unicode_ci, 4-byte characters (emoji, supplementary CJK: one weight for all of them) and
 * trailing spaces inside the prefix, and unicode_ci's expansions (ß = ss), collide exactly where the
 * server's unique index says they do (the server decides the expectations: each pair is tried first).
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { runDrc } from '../support/cli.js';
import { checksums } from '../support/checksums.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';

const TABLE = `CREATE TABLE p (
  id INT PRIMARY KEY,
  name VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL,
  code VARBINARY(16) NULL,
  who VARCHAR(8) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY by_name (name(4)),
  UNIQUE KEY by_code (code(3)))`;

describeWithServers('prefix unique keys: the newest claimant of a prefix survives (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('rows colliding on the first characters (or bytes) end as the newest one in both ezones; rows differing within the prefix both stay', async () => {
    const ezones = ['a', 'b'];
    s = await scenario('unique-prefix', {}, { ezones });
    for (const ez of ezones) await s.db[ez]!.query(TABLE);
    // Every stream gets a resume point, then the daemons stop: the writes below meet only when they restart.
    daemons.push(...(await startDaemons(s, ezones)));
    for (const [i, ez] of ezones.entries()) await s.db[ez]!.query("INSERT INTO p VALUES (?, ?, NULL, ?, '2020-01-01')", [100 + i, `${ez}-prime`, ez]);
    await converge(s, 'p', ezones, { rows: 2 });
    await stopDaemons(daemons);

    const insert = (ez: string, id: number, name: string, code: Buffer | null, at: string) => s!.db[ez]!.query('INSERT INTO p VALUES (?, ?, ?, ?, ?)', [id, name, code, ez, `2030-01-01 00:00:${at}`]);
    await insert('a', 1, 'abcdX', null, '02'); // collides with 2 on 'abcd' (case-insensitive): 1 is newer
    await insert('b', 2, 'ABCDy', null, '01');
    await insert('a', 3, 'zzzz1', null, '01'); // differs from 4 within the prefix: both stay
    await insert('b', 4, 'zzzy1', null, '02');
    await insert('a', 5, 'mn', null, '02'); // PAD SPACE: 'mn' and 'MN  ' are one prefix; 6 is newer
    await insert('b', 6, 'MN  x', null, '03');
    await insert('a', 7, 'k1', Buffer.from([1, 2, 3, 0xaa]), '02'); // the first 3 bytes collide with 8: 7 is newer
    await insert('b', 8, 'k2', Buffer.from([1, 2, 3, 0xbb]), '01');
    // The server itself holds them as one value: the other ezone's row is refused here.
    await expect(s.db.a!.query("INSERT INTO p VALUES (9, 'ABCD-other', NULL, 'a', '2030-01-01')")).rejects.toMatchObject({ errno: 1062 });

    daemons.push(...(await startDaemons(s, ezones)));
    const expected = [1, 3, 4, 6, 7, 100, 101];
    await converge(s, 'p', ezones, { rows: expected.length, timeoutMs: 90_000 });
    for (const ez of ezones) {
      const [rows] = await s.db[ez]!.query<mysql.RowDataPacket[]>('SELECT id FROM p ORDER BY id');
      expect(rows.map((r) => Number(r.id)), ez).toEqual(expected);
    }
    const sums = await Promise.all(ezones.map((ez) => checksums(s!.db[ez]!, ['p'])));
    expect(sums[0]).toEqual(sums[1]);
    const verify = await runDrc(['verify', '--config', s.configFile, '--tables', `${s.schema}.p`, '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout).differences).toEqual([]);
    // Decided as unique-key conflicts, in each ezone that received a loser or a winner.
    for (const ez of ezones) expect((await conflictsIn(s, ez)).filter((c) => c.table_name === 'p').length, ez).toBeGreaterThan(0);
  });

  /** Pairs written in a and in b (seconds of their versions): one value or two, as the server's index says. */
  const PAIRS: { a: string; b: string; aAt: number; bAt: number; collide: { general: boolean; unicode: boolean } }[] = [
    { a: 'ab😀x', b: 'AB😁y', aAt: 2, bAt: 1, collide: { general: true, unicode: true } }, // every emoji weighs U+FFFD
    { a: 'c𠮟a1', b: 'C😀A2', aAt: 1, bAt: 2, collide: { general: true, unicode: true } }, // supplementary CJK too
    { a: 'e', b: 'E  😀', aAt: 2, bAt: 3, collide: { general: true, unicode: true } }, // PAD SPACE: the prefix 'E  ' is 'e'
    { a: 'q😀 ', b: 'Q😁', aAt: 2, bAt: 1, collide: { general: true, unicode: true } }, // a trailing space within the prefix
    { a: 'zz😀', b: 'zy😀', aAt: 1, bAt: 2, collide: { general: false, unicode: false } }, // differ within the prefix
    { a: 'aß', b: 'ASS1', aAt: 1, bAt: 2, collide: { general: false, unicode: true } }, // unicode_ci: ß = ss
    { a: 'kßz', b: 'kssz1', aAt: 2, bAt: 1, collide: { general: false, unicode: false } }, // 'kßz' is 4 weights, 'kss' 3
  ];

  it.each([
    ['general', 'utf8mb4_general_ci'],
    ['unicode', 'utf8mb4_unicode_ci'],
  ] as const)('%s_ci: 4-byte characters, trailing spaces and expansions in a prefix collide as the server says, and the newest claimant survives', async (kind, collation) => {
    const ezones = ['a', 'b'];
    s = await scenario(`unique-prefix-${kind}`, {}, { ezones });
    const ddl = (name: string) => `CREATE TABLE ${name} (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb4 COLLATE ${collation} NOT NULL,
      who VARCHAR(8) NOT NULL, updated_at DATETIME(6) NOT NULL, UNIQUE KEY by_name (name(3)))`;
    for (const ez of ezones) await s.db[ez]!.query(ddl('p'));
    // The server's own answer for each pair, on a scratch table outside the replicated one.
    await s.db.a!.query(ddl('scratch'));
    for (const [i, pair] of PAIRS.entries()) {
      await s.db.a!.query('INSERT INTO scratch VALUES (?, ?, ?, NOW())', [2 * i, pair.a, 'a']);
      const second = await s.db.a!.query('INSERT INTO scratch VALUES (?, ?, ?, NOW())', [2 * i + 1, pair.b, 'b']).then(() => false, (e: { errno?: number }) => e.errno === 1062);
      expect(second, `${pair.a} / ${pair.b}`).toBe(pair.collide[kind]);
    }
    await s.db.a!.query('DROP TABLE scratch');

    daemons.push(...(await startDaemons(s, ezones)));
    for (const [i, ez] of ezones.entries()) await s.db[ez]!.query("INSERT INTO p VALUES (?, ?, ?, '2020-01-01')", [100 + i, `${ez}-prime`, ez]);
    await converge(s, 'p', ezones, { rows: 2 });
    await stopDaemons(daemons);
    const expected = [100, 101];
    for (const [i, pair] of PAIRS.entries()) {
      await s.db.a!.query('INSERT INTO p VALUES (?, ?, ?, ?)', [2 * i, pair.a, 'a', `2030-01-01 00:00:0${pair.aAt}`]);
      await s.db.b!.query('INSERT INTO p VALUES (?, ?, ?, ?)', [2 * i + 1, pair.b, 'b', `2030-01-01 00:00:0${pair.bAt}`]);
      if (!pair.collide[kind]) expected.push(2 * i, 2 * i + 1);
      else expected.push(pair.aAt > pair.bAt ? 2 * i : 2 * i + 1);
    }
    expected.sort((x, y) => x - y);

    daemons.push(...(await startDaemons(s, ezones)));
    await converge(s, 'p', ezones, { rows: expected.length, timeoutMs: 90_000 });
    for (const ez of ezones) {
      const [rows] = await s.db[ez]!.query<mysql.RowDataPacket[]>('SELECT id FROM p ORDER BY id');
      expect(rows.map((r) => Number(r.id)), ez).toEqual(expected);
    }
    const sums = await Promise.all(ezones.map((ez) => checksums(s!.db[ez]!, ['p'])));
    expect(sums[0]).toEqual(sums[1]);
  });
});
