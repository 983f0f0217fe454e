/**
 * `drc verify` compares what the server stores, exactly: for each type family a planted difference
 * that a comparison of driver-decoded values misses (float32 rounding, collation-equal text, a JSON
 * document re-printed, NULL vs '' …) must be reported with its key, and identical data must be ok.
 * No daemons: values are written straight into two ezones' databases.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { runDrc } from '../support/cli.js';
import { describeWithServers } from '../support/env.js';
import { scenario, type Scenario } from '../support/scenario.js';

interface Report {
  ok: boolean;
  tables: { table: string; rows: number; chunks: number }[];
  differences: { table: string; key: Record<string, unknown>; keyHex: Record<string, string>; ezones: { ezone: string; present: boolean }[] }[];
}

/** One family: a column type, and two values the server stores differently (SQL expressions). */
interface Case {
  name: string;
  type: string;
  a: string;
  b: string;
  /** sql_mode for writing the values (ENUM index 0 needs a non-strict one). */
  sqlMode?: string;
}

const CASES: Case[] = [
  { name: 'double_beyond_float32', type: 'DOUBLE', a: '20000000.25', b: '20000000.75' },
  { name: 'float_last_bit', type: 'FLOAT', a: '1.0000001', b: '1.0000002' },
  { name: 'float_negative_zero', type: 'FLOAT', a: '-1e-50', b: '0' },
  { name: 'decimal_last_digit', type: 'DECIMAL(30,20)', a: "'1.00000000000000000001'", b: "'1.00000000000000000002'" },
  { name: 'bigint_beyond_2_53', type: 'BIGINT', a: '9007199254740993', b: '9007199254740992' },
  { name: 'datetime_micro', type: 'DATETIME(6)', a: "'2024-02-29 23:59:59.000001'", b: "'2024-02-29 23:59:59.000002'" },
  { name: 'timestamp_micro', type: 'TIMESTAMP(6) NULL', a: "'2038-01-19 03:14:07.999998'", b: "'2038-01-19 03:14:07.999999'" },
  { name: 'time_sign', type: 'TIME', a: "'00:00:01'", b: "'-00:00:01'" },
  { name: 'year_zero', type: 'YEAR', a: '0', b: '2000' },
  { name: 'latin1_bytes', type: 'VARCHAR(10) CHARACTER SET latin1', a: "_latin1 X'81'", b: "_latin1 X'8D'" },
  { name: 'ci_case', type: 'VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci', a: "'a'", b: "'A'" },
  { name: 'ci_accent', type: 'VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci', a: "'e'", b: "'é'" },
  { name: 'trailing_space', type: 'VARCHAR(10)', a: "'x'", b: "'x '" },
  { name: 'null_vs_empty', type: 'VARCHAR(10) NULL', a: 'NULL', b: "''" },
  { name: 'empty_vs_zero', type: 'VARCHAR(10)', a: "''", b: "'0'" },
  { name: 'binary_trailing_zero', type: 'VARBINARY(10)', a: "X'01'", b: "X'0100'" },
  { name: 'binary_padded', type: 'BINARY(4)', a: "X'01000000'", b: "X'01000001'" },
  { name: 'json_key_order', type: 'JSON', a: '\'{"a":1,"b":2}\'', b: '\'{"b":2,"a":1}\'' },
  { name: 'json_whitespace', type: 'JSON', a: '\'{"a":1}\'', b: '\'{"a": 1}\'' },
  { name: 'bit', type: 'BIT(8)', a: "b'1'", b: "b'10'" },
  { name: 'enum_index_zero', type: "ENUM('x','y') NULL", a: "'bogus'", b: "'x'", sqlMode: '' },
  { name: 'set_members', type: "SET('a','b')", a: "'a'", b: "'a,b'" },
  { name: 'geometry_srid', type: 'GEOMETRY', a: "ST_GeomFromText('POINT(1 2)', 0)", b: "ST_GeomFromText('POINT(1 2)', 4326)" },
];

/** Keys that only round-trip exactly: each table's row 2 has such a key and differs in `v`. */
const KEYS: { name: string; type: string; key1: string; key2: string }[] = [
  { name: 'k_latin1', type: 'VARCHAR(10) CHARACTER SET latin1', key1: "_latin1 X'8D'", key2: "_latin1 X'81'" },
  { name: 'k_binary', type: 'VARBINARY(10)', key1: "X'01'", key2: "X'0100'" },
  { name: 'k_bigint', type: 'BIGINT UNSIGNED', key1: '18446744073709551614', key2: '18446744073709551615' },
  { name: 'k_double', type: 'DOUBLE', key1: '20000000.25', key2: '20000000.75' },
  { name: 'k_datetime', type: 'DATETIME(6)', key1: "'2024-01-01 00:00:00.000001'", key2: "'2024-01-01 00:00:00.000002'" },
  { name: 'k_ci', type: 'VARCHAR(10) COLLATE utf8mb4_general_ci', key1: "'b'", key2: "'A '" },
  { name: 'k_decimal', type: 'DECIMAL(40,20)', key1: "'1.00000000000000000001'", key2: "'12345678901234567890.00000000000000000002'" },
  { name: 'k_enum', type: "ENUM('z','a')", key1: "'z'", key2: "'a'" },
  { name: 'k_time', type: 'TIME(6)', key1: "'-00:00:00.000001'", key2: "'00:00:00.000001'" },
];

async function checksum(db: mysql.Connection, table: string): Promise<string> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE \`${table}\``);
  return String(rows[0]!.Checksum);
}

describeWithServers('drc verify compares exactly', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('finds a planted difference in every type family, INVISIBLE columns and exact keys; identical data is ok', async () => {
    s = await scenario('verify exact');
    const { a, b } = s.db as { a: mysql.Connection; b: mysql.Connection };
    for (const db of [a, b]) {
      for (const c of CASES) await db.query(`CREATE TABLE \`${c.name}\` (id INT PRIMARY KEY, v ${c.type})`);
      await db.query('CREATE TABLE invisible_col (id INT PRIMARY KEY, shown INT, hidden INT INVISIBLE)');
      for (const k of KEYS) await db.query(`CREATE TABLE \`${k.name}\` (k ${k.type} PRIMARY KEY, v INT)`);
    }
    // Identical contents: row 1 holds a's value, row 2 b's value, in both ezones.
    for (const db of [a, b]) {
      for (const c of CASES) {
        await db.query(`SET SESSION sql_mode = ${c.sqlMode === undefined ? 'DEFAULT' : `'${c.sqlMode}'`}`);
        await db.query(`INSERT INTO \`${c.name}\` (id, v) VALUES (1, ${c.a}), (2, ${c.b})`);
      }
      await db.query('SET SESSION sql_mode = DEFAULT');
      await db.query('INSERT INTO invisible_col (id, shown, hidden) VALUES (1, 1, 1), (2, 1, 1)');
      for (const k of KEYS) await db.query(`INSERT INTO \`${k.name}\` (k, v) VALUES (${k.key1}, 1), (${k.key2}, 1)`);
    }
    const tables = [...CASES.map((c) => c.name), 'invisible_col', ...KEYS.map((k) => k.name)];
    for (const t of tables) expect(await checksum(b, t), t).toBe(await checksum(a, t));
    const args = ['verify', '--config', s.configFile, '--ezones', 'a,b', '--recheck-ms', '10', '--pause-ms', '0', '--json'];

    const clean = await runDrc(args);
    expect(clean.code, clean.stderr).toBe(0);
    const cleanReport = JSON.parse(clean.stdout) as Report;
    expect(cleanReport.differences).toEqual([]);
    expect(cleanReport.tables.map((t) => [t.table, t.rows]).sort()).toEqual(tables.map((t) => [`${s!.schema}.${t}`, 2]).sort());
    // One row per chunk: every key goes through the range bounds (pk > lo AND pk <= hi) bound back from HEX.
    const single = await runDrc([...args, '--chunk-size', '1']);
    expect(single.code, single.stderr).toBe(0);
    expect((JSON.parse(single.stdout) as Report).tables.map((t) => [t.table, t.rows, t.chunks]).sort()).toEqual(tables.map((t) => [`${s!.schema}.${t}`, 2, 3]).sort());

    // Planted in b: row 1 takes the other value (row 2 stays identical, the control).
    for (const c of CASES) {
      await b.query(`SET SESSION sql_mode = ${c.sqlMode === undefined ? 'DEFAULT' : `'${c.sqlMode}'`}`);
      await b.query(`UPDATE \`${c.name}\` SET v = ${c.b} WHERE id = 1`);
    }
    await b.query('SET SESSION sql_mode = DEFAULT');
    await b.query('UPDATE invisible_col SET hidden = 2 WHERE id = 1');
    for (const k of KEYS) await b.query(`UPDATE \`${k.name}\` SET v = 2 WHERE k = ${k.key2}`);
    for (const t of tables) expect(await checksum(b, t), `${t}: the plant changed what is stored`).not.toBe(await checksum(a, t));

    const found = await runDrc(args);
    expect(found.code, found.stderr).toBe(1);
    const report = JSON.parse(found.stdout) as Report;
    const chunked = await runDrc([...args, '--chunk-size', '1']);
    expect(chunked.code, chunked.stderr).toBe(1);
    expect((JSON.parse(chunked.stdout) as Report).differences).toEqual(report.differences);
    const byTable = new Map(report.differences.map((d) => [d.table.slice(s!.schema.length + 1), d]));
    expect([...byTable.keys()].sort()).toEqual([...tables].sort());
    expect(report.differences).toHaveLength(tables.length); // one key each: the control rows are equal
    for (const c of [...CASES.map((x) => x.name), 'invisible_col']) {
      const d = byTable.get(c)!;
      expect(d.key, c).toEqual({ id: 1 });
      expect(d.ezones, c).toEqual([expect.objectContaining({ ezone: 'a', present: true }), expect.objectContaining({ ezone: 'b', present: true })]);
    }
    // Exact keys: found in both ezones (the lookup bound them back exactly), named byte for byte.
    for (const k of KEYS) {
      const d = byTable.get(k.name)!;
      expect(d.ezones.map((e) => e.present), k.name).toEqual([true, true]);
      const [rows] = await a.query<mysql.RowDataPacket[]>(`SELECT HEX(k) AS h, CAST(${k.type.startsWith('ENUM') ? 'k + 0' : 'k'} AS CHAR) AS t FROM \`${k.name}\` WHERE k = ${k.key2}`);
      const isString = /CHAR|BINARY/.test(k.type);
      expect(d.keyHex.k, k.name).toBe(isString ? rows[0]!.h : Buffer.from(String(rows[0]!.t)).toString('hex').toUpperCase());
    }
  });
});

describeWithServers('drc verify on composite keys', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('chunks and narrows a (latin1, DOUBLE, BINARY) key, one row per chunk', async () => {
    s = await scenario('verify composite');
    const { a, b } = s.db as { a: mysql.Connection; b: mysql.Connection };
    for (const db of [a, b]) {
      await db.query('CREATE TABLE ck (s VARCHAR(5) CHARACTER SET latin1, d DOUBLE, x BINARY(2), v INT, PRIMARY KEY (s, d, x))');
      await db.query(`INSERT INTO ck VALUES (_latin1 X'81', 20000000.25, X'0000', 1), (_latin1 X'81', 20000000.75, X'0000', 1),
        (_latin1 X'81', 20000000.75, X'0001', 1), (_latin1 X'8D', 0.1, X'00', 1), ('A', 1, X'FF', 1), ('a ', 2, X'FF', 1)`);
    }
    await b.query("UPDATE ck SET v = 2 WHERE s = _latin1 X'81' AND d = 20000000.75 AND x = X'0000'");
    await b.query("DELETE FROM ck WHERE s = 'a ' AND d = 2");
    const args = ['verify', '--config', s.configFile, '--ezones', 'a,b', '--recheck-ms', '10', '--pause-ms', '0', '--json'];
    for (const size of ['1', '2', '1000']) {
      const found = await runDrc([...args, '--chunk-size', size]);
      expect(found.code, found.stderr).toBe(1);
      const report = JSON.parse(found.stdout) as Report;
      expect(report.tables[0]!.rows, size).toBe(6);
      // In the collation's order (latin1_swedish_ci sorts 'a ' before 0x81); BINARY(2) pads X'FF' to FF00.
      expect(report.differences.map((d) => [d.keyHex, d.ezones.map((e) => e.present)]), size).toEqual([
        [{ s: '6120', d: '32', x: 'FF00' }, [true, false]],
        [{ s: '81', d: Buffer.from('20000000.75').toString('hex').toUpperCase(), x: '0000' }, [true, true]],
      ]);
    }
  });
});

describeWithServers('drc verify --repair on exact differences', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('repairs a difference in an INVISIBLE column of a table with generated columns, writing no generated column', async () => {
    s = await scenario('verify repair exact');
    const { a, b } = s.db as { a: mysql.Connection; b: mysql.Connection };
    const ddl = `CREATE TABLE g (id INT PRIMARY KEY, v INT, hidden VARCHAR(10) INVISIBLE,
      twice INT AS (v * 2) VIRTUAL, thrice INT AS (v * 3) STORED,
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))`;
    for (const db of [a, b]) {
      await db.query(ddl);
      await db.query("INSERT INTO g (id, v, hidden, updated_at) VALUES (1, 1, 'x', '2024-01-01 00:00:00'), (2, 2, 'y', '2024-01-01 00:00:00')");
    }
    await b.query("UPDATE g SET hidden = 'planted', updated_at = '2024-01-02 00:00:00' WHERE id = 2");
    const args = ['verify', '--config', s.configFile, '--ezones', 'a,b', '--recheck-ms', '10', '--json'];
    const found = await runDrc(args);
    expect(found.code, found.stderr).toBe(1);
    expect((JSON.parse(found.stdout) as Report).differences.map((d) => d.key)).toEqual([{ id: 2 }]);

    const repaired = await runDrc([...args, '--repair']);
    expect(repaired.code, repaired.stderr).toBe(0);
    const after = await runDrc(args);
    expect(after.code, after.stdout).toBe(0);
    const [rows] = await a.query<mysql.RowDataPacket[]>('SELECT id, v, hidden, twice, thrice FROM g ORDER BY id');
    expect(rows).toEqual([
      { id: 1, v: 1, hidden: 'x', twice: 2, thrice: 3 },
      { id: 2, v: 2, hidden: 'planted', twice: 4, thrice: 6 },
    ]);
    expect(await checksum(a, 'g')).toBe(await checksum(b, 'g'));
  });

  it('never reports as repaired a key that still differs (equal versions, rows differing only in a DOUBLE beyond float32)', async () => {
    s = await scenario('verify repair double');
    const { a, b } = s.db as { a: mysql.Connection; b: mysql.Connection };
    for (const db of [a, b]) await db.query('CREATE TABLE d (id INT PRIMARY KEY, v DOUBLE, updated_at DATETIME(6) NOT NULL)');
    await a.query("INSERT INTO d VALUES (1, 20000000.25, '2024-01-01 00:00:00')");
    await b.query("INSERT INTO d VALUES (1, 20000000.75, '2024-01-01 00:00:00')");
    const args = ['verify', '--config', s.configFile, '--ezones', 'a,b', '--recheck-ms', '10', '--json'];
    const found = await runDrc(args);
    expect(found.code, found.stderr).toBe(1);
    const repaired = await runDrc([...args, '--repair']);
    const report = JSON.parse(repaired.stdout) as Report & { differences: { repaired?: { changed: string[]; stillDifferent?: string[] } }[] };
    const after = await runDrc(args);
    // Whatever the apply path makes of it, the report tells the truth: ok only when the ezones now agree.
    expect(repaired.code === 0, repaired.stdout).toBe(after.code === 0);
    expect(report.ok).toBe(after.code === 0);
    expect(report.differences[0]!.repaired!.stillDifferent).toEqual(after.code === 0 ? undefined : ['b']);
    const [x] = await a.query<mysql.RowDataPacket[]>('SELECT CAST(v AS CHAR) AS v FROM d');
    const [y] = await b.query<mysql.RowDataPacket[]>('SELECT CAST(v AS CHAR) AS v FROM d');
    expect(x[0]!.v === y[0]!.v).toBe(after.code === 0);
  });
});

describeWithServers('drc verify on values near max_allowed_packet', () => {
  let s: Scenario | undefined;
  const restore: { db: mysql.Connection; value: number }[] = [];
  afterEach(async () => {
    for (const r of restore.splice(0)) await r.db.query(`SET GLOBAL max_allowed_packet = ${r.value}`);
    await s?.close();
    s = undefined;
  });

  it('sees the last byte of a BLOB larger than half of max_allowed_packet (a HEX() of it would be NULL)', async () => {
    s = await scenario('verify big value');
    const { a, b } = s.db as { a: mysql.Connection; b: mysql.Connection };
    for (const db of [a, b]) {
      await db.query('CREATE TABLE big (id INT PRIMARY KEY, v LONGBLOB, t LONGTEXT)');
      await db.query("INSERT INTO big VALUES (1, CONCAT(REPEAT('x', 3000000), 'a'), REPEAT('é', 1500000))");
    }
    await b.query("UPDATE big SET v = CONCAT(REPEAT('x', 3000000), 'b') WHERE id = 1");
    for (const db of [a, b]) {
      const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.max_allowed_packet AS v');
      restore.push({ db, value: Number(rows[0]!.v) });
      await db.query('SET GLOBAL max_allowed_packet = 4194304'); // the CLI's new sessions take it
    }
    const found = await runDrc(['verify', '--config', s.configFile, '--ezones', 'a,b', '--recheck-ms', '10', '--json']);
    expect(found.code, found.stderr).toBe(1);
    expect((JSON.parse(found.stdout) as Report).differences.map((d) => d.key)).toEqual([{ id: 1 }]);
  });
});

describeWithServers('drc verify on tables whose columns differ', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('reports a schema difference (a column type, a missing table) instead of comparing rows, exit 1', async () => {
    s = await scenario('verify schema diff');
    const { a, b } = s.db as { a: mysql.Connection; b: mysql.Connection };
    await a.query('CREATE TABLE typed (id INT PRIMARY KEY, v DOUBLE)');
    await b.query('CREATE TABLE typed (id INT PRIMARY KEY, v FLOAT)');
    await a.query('CREATE TABLE only_a (id INT PRIMARY KEY)');
    await a.query('CREATE TABLE same (id INT PRIMARY KEY, v INT)');
    await b.query('CREATE TABLE same (id INT PRIMARY KEY, v INT)');
    for (const db of [a, b]) await db.query('INSERT INTO typed VALUES (1, 1.5)');
    await a.query('INSERT INTO same VALUES (1, 1)');
    await b.query('INSERT INTO same VALUES (1, 2)');
    const found = await runDrc(['verify', '--config', s.configFile, '--ezones', 'a,b', '--recheck-ms', '10', '--json']);
    expect(found.code, found.stderr).toBe(1);
    const report = JSON.parse(found.stdout) as Report & { schemaDifferences: { table: string; ezone: string; detail: string }[] };
    expect(report.ok).toBe(false);
    expect(report.tables.map((t) => t.table)).toEqual([`${s.schema}.same`]);
    expect(report.differences.map((d) => [d.table, d.key])).toEqual([[`${s.schema}.same`, { id: 1 }]]);
    expect(report.schemaDifferences).toEqual([
      { table: `${s.schema}.only_a`, ezone: 'b', detail: `${s.schema}.only_a does not exist in ezone b` },
      { table: `${s.schema}.typed`, ezone: 'b', detail: 'columns differ: a has v double; b has v float' },
    ]);
    // A table asked for by name that cannot be compared fails the run; found by discovery, it is listed.
    await a.query('CREATE TABLE no_pk (v INT)');
    const named = await runDrc(['verify', '--config', s.configFile, '--ezones', 'a,b', '--tables', `${s.schema}.same2,${s.schema}.no_pk`, '--json']);
    expect(named.code, named.stderr).toBe(1);
    expect((JSON.parse(named.stdout) as { skipped: unknown[] }).skipped).toEqual([
      { table: `${s.schema}.same2`, reason: 'no such table or no primary key in ezone a' },
      { table: `${s.schema}.no_pk`, reason: 'no such table or no primary key in ezone a' },
    ]);
    const human = await runDrc(['verify', '--config', s.configFile, '--ezones', 'a,b', '--recheck-ms', '10']);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/columns differ: a has v double; b has v float/);
    expect(human.stdout).toMatch(new RegExp(`not compared:[\\s\\S]*${s.schema}\\.no_pk\\s+no such table or no primary key`));
  });
});
