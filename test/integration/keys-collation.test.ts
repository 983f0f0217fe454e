/**
 * Issue 12, keys mean what the server says: keys equal under the column's collation ('alice'/'Alice'
 * under utf8mb4_general_ci, 'é'/'e' under utf8mb4_unicode_ci, 'x'/'x ' under a PAD SPACE collation)
 * written concurrently in two ezones converge to the LWW winner, with a conflict in each ezone and no
 * retry loop; and apply sessions keep what the origin stored (id 0 under NO_AUTO_VALUE_ON_ZERO).
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

/** Every listed column as HEX(), ordered by HEX of the first: byte-exact comparable text. */
async function hexRows(conn: mysql.Connection, table: string, columns: string[]): Promise<{ [c: string]: string | null }[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT ${columns.map((c) => `HEX(\`${c}\`) AS \`${c}\``).join(', ')} FROM ${table} ORDER BY 1`);
  return rows as { [c: string]: string | null }[];
}

async function checksum(conn: mysql.Connection, table: string): Promise<string> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
  return String(rows[0]?.Checksum);
}

/** Wait until `table` is byte-identical in a and b with `count` rows; returns a's rows (hex). */
async function sameEverywhere(s: Scenario, table: string, columns: string[], count: number): Promise<{ [c: string]: string | null }[]> {
  let a: { [c: string]: string | null }[] = [];
  let b: typeof a = [];
  await eventually(
    `${table} identical in a and b`,
    async () => {
      a = await hexRows(s.db.a!, table, columns);
      b = await hexRows(s.db.b!, table, columns);
      return JSON.stringify(a) === JSON.stringify(b) && a.length === count;
    },
    60_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\na: ${JSON.stringify(a)}\nb: ${JSON.stringify(b)}`);
  });
  expect(await checksum(s.db.a!, table)).toBe(await checksum(s.db.b!, table));
  return a;
}

const hex = (text: string) => Buffer.from(text).toString('hex').toUpperCase();

describeWithServers('keys under collations, and the apply sql_mode (issue 12)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('keys equal under the collation, written concurrently in two ezones, converge to one row with a conflict in each ezone', async () => {
    s = await scenario('collation');
    const cases = [
      { table: 'ci', collation: 'utf8mb4_general_ci', inA: 'alice', inB: 'Alice' },
      { table: 'ai', collation: 'utf8mb4_unicode_ci', inA: 'é', inB: 'e' },
      { table: 'pad', collation: 'utf8mb4_general_ci', inA: 'x', inB: 'x ' }, // PAD SPACE: 'x' = 'x '
      { table: 'pad_bin', collation: 'utf8mb4_bin', inA: 'y  ', inB: 'y' }, // _bin is PAD SPACE too
    ];
    for (const ez of ['a', 'b']) {
      for (const c of cases) {
        await s.db[ez]!.query(`CREATE TABLE ${c.table} (id VARCHAR(20) CHARACTER SET utf8mb4 COLLATE ${c.collation} PRIMARY KEY, who VARCHAR(8) NOT NULL, updated_at DATETIME(6) NOT NULL)`);
      }
      // Whole-second versions: a respelling UPDATE's delete + insert carry the same version.
      await s.db[ez]!.query('CREATE TABLE sec (id VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT NOT NULL, updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)');
      // A unique key (not the primary key) under a case-insensitive collation: rule 5.
      await s.db[ez]!.query('CREATE TABLE uk (id INT PRIMARY KEY, email VARCHAR(40) COLLATE utf8mb4_general_ci NOT NULL UNIQUE, updated_at DATETIME(6) NOT NULL)');
    }
    // Every stream gets a resume point (a first daemon starts capture at the binlog's end), then both
    // ezones write while the daemons are down: the writes are concurrent, whatever the timing.
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query("INSERT INTO ci VALUES ('seed-a', 'a', '2020-01-01')");
    await s.db.b!.query("INSERT INTO ci VALUES ('seed-b', 'b', '2020-01-01')");
    await sameEverywhere(s, 'ci', ['id', 'who'], 2);
    await stopDaemons(daemons);
    for (const c of cases) {
      await s.db.a!.query(`INSERT INTO ${c.table} VALUES (?, 'a', '2030-01-01 00:00:00.000001')`, [c.inA]);
      await s.db.b!.query(`INSERT INTO ${c.table} VALUES (?, 'b', '2030-01-01 00:00:00.000002')`, [c.inB]); // b is newer
    }
    await s.db.a!.query("INSERT INTO uk VALUES (1, 'Bob@Example.com', '2030-01-01 00:00:00.000003')"); // a is newer here
    await s.db.b!.query("INSERT INTO uk VALUES (2, 'bob@example.com', '2030-01-01 00:00:00.000001')");
    daemons.push(...(await startDaemons(s, ['a', 'b'])));

    for (const c of cases) {
      const rows = (await sameEverywhere(s, c.table, ['id', 'who', 'updated_at'], c.table === 'ci' ? 3 : 1)).filter((r) => !r.id!.startsWith(hex('seed')));
      expect(rows, c.table).toHaveLength(1);
      expect(rows[0], c.table).toMatchObject({ id: hex(c.inB), who: hex('b') }); // the newer write, its key as b spelled it
    }
    expect(await sameEverywhere(s, 'uk', ['id', 'email'], 1)).toEqual([{ id: '1', email: hex('Bob@Example.com') }]);

    const decisions = async (ez: string) => (await conflictsIn(s!, ez)).map((c) => `${c.table_name} ${c.reason} ${c.decision}`).sort();
    await eventually('conflicts recorded in both ezones', async () => (await decisions('a')).length >= 5 && (await decisions('b')).length >= 5);
    expect(await decisions('a')).toEqual([...cases.map((c) => `${c.table} insert-exists applied`), 'uk unique-collision skipped'].sort());
    expect(await decisions('b')).toEqual([...cases.map((c) => `${c.table} insert-exists skipped`), 'uk unique-collision applied'].sort());

    // The streams are not stuck: later rows, and updates of the converged rows, still arrive both ways.
    await s.db.a!.query("UPDATE ci SET who = 'a2', updated_at = '2031-01-01' WHERE id = 'ALICE'");
    await s.db.a!.query("INSERT INTO ci VALUES ('later-a', 'a', '2031-01-01')");
    await s.db.b!.query("INSERT INTO ci VALUES ('later-b', 'b', '2031-01-01')");
    await s.db.b!.query("UPDATE pad SET who = 'b2', updated_at = '2031-01-01' WHERE id = 'x'");
    const ci = await sameEverywhere(s, 'ci', ['id', 'who'], 5);
    expect(ci).toContainEqual({ id: hex('Alice'), who: hex('a2') });
    expect(await sameEverywhere(s, 'pad', ['id', 'who'], 1)).toEqual([{ id: hex('x '), who: hex('b2') }]);
    // A key's spelling changed by one writer: delete + insert in one transaction, and an UPDATE of the key.
    await s.db.a!.query("BEGIN; DELETE FROM ci WHERE id = 'later-a'; INSERT INTO ci VALUES ('LATER-A', 'a3', '2031-02-01'); COMMIT");
    await s.db.a!.query("UPDATE ci SET id = 'Later-B', updated_at = '2031-02-01' WHERE id = 'later-b'");
    const respelled = await sameEverywhere(s, 'ci', ['id', 'who'], 5);
    expect(respelled).toContainEqual({ id: hex('LATER-A'), who: hex('a3') });
    expect(respelled).toContainEqual({ id: hex('Later-B'), who: hex('b') });
    await s.db.a!.query("INSERT INTO sec (id, v) VALUES ('k1', 1)");
    await sameEverywhere(s, 'sec', ['id', 'v'], 1);
    await s.db.a!.query("UPDATE sec SET id = 'K1' WHERE id = 'k1'");
    expect(await sameEverywhere(s, 'sec', ['id', 'v', 'updated_at'], 1)).toMatchObject([{ id: hex('K1'), v: '1' }]);
    // No conflict beyond the concurrent inserts: the converged rows are single-writer again.
    expect((await conflictsIn(s, 'a')).length).toBe(5);
    expect((await conflictsIn(s, 'b')).length).toBe(5);
  });

  it('keeps id 0 written under NO_AUTO_VALUE_ON_ZERO (as mysqldump restores do), and a zero date, through insert and update', async () => {
    s = await scenario('zero-id');
    const ddl = "CREATE TABLE z (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) NOT NULL, d DATE NOT NULL DEFAULT '2000-01-01', updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))";
    for (const ez of ['a', 'b']) await s.db[ez]!.query(ddl);
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const a = s.db.a!;
    await a.query("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'");
    await a.query("INSERT INTO z (id, v, d) VALUES (0, 'zero', '0000-00-00')");
    await a.query("INSERT INTO z (id, v) VALUES (5, 'five')");
    await a.query("UPDATE z SET v = 'zero, updated' WHERE id = 0");
    await a.query("SET SESSION sql_mode = DEFAULT");
    const rows = await sameEverywhere(s, 'z', ['id', 'v', 'd', 'updated_at'], 2);
    expect(rows.map((r) => [r.id, r.v, r.d])).toEqual([
      ['0', hex('zero, updated'), hex('0000-00-00')], // HEX() of an integer is the number in hex
      ['5', hex('five'), hex('2000-01-01')],
    ]);
    // The update of row 0 in b reaches a as an update of row 0 too.
    await s.db.b!.query("UPDATE z SET v = 'zero, from b' WHERE id = 0");
    expect((await sameEverywhere(s, 'z', ['id', 'v'], 2))[0]).toEqual({ id: '0', v: hex('zero, from b') });
    expect(await conflictsIn(s, 'a')).toEqual([]);
    expect(await conflictsIn(s, 'b')).toEqual([]);
  });
});
