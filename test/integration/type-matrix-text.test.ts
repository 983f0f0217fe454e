/**
 * The type matrix of the string-like families (issue 12): per family a table of edge values, written
 * in ezone a and in ezone b (different keys), replicated both ways by real daemons, then compared
 * byte for byte — `CHECKSUM TABLE` and `HEX()` of every column, row by row. Values are written as hex
 * literals, so what is compared is exactly the bytes the origin stored.
 */
import type mysql from 'mysql2/promise';
import { afterAll, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';

const V = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
const hex = (bytes: number[]) => `x'${Buffer.from(bytes).toString('hex')}'`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const repeat = (bytes: number[], n: number) => Array.from({ length: n }, () => bytes).flat();

interface Family {
  table: string;
  ddl: string;
  /** Columns compared by HEX(). */
  columns: string[];
  /** Rows as SQL value lists (without id), each written once in a and once in b. */
  rows: string[];
  /** Statements run after the inserts in each ezone (`?` is the ezone's id offset). */
  updates?: string[];
  /** Extra expressions compared (e.g. ST_SRID). */
  extra?: string[];
  /** Session sql_mode of the writes (the origin's). */
  sqlMode?: string;
}

const LATIN1_HOLES = [0x81, 0x8d, 0x8f, 0x90, 0x9d];

const FAMILIES: Family[] = [
  {
    table: 'txt',
    ddl: `CREATE TABLE txt (id INT PRIMARY KEY,
      u8 VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, u8t TEXT CHARACTER SET utf8mb4, u3 VARCHAR(50) CHARACTER SET utf8mb3,
      l VARCHAR(200) CHARACTER SET latin1, lt TEXT CHARACTER SET latin1, lc CHAR(10) CHARACTER SET latin1,
      c1250 VARCHAR(200) CHARACTER SET cp1250, sj VARCHAR(50) CHARACTER SET sjis, c932 VARCHAR(50) CHARACTER SET cp932,
      gb VARCHAR(50) CHARACTER SET gbk, b5 VARCHAR(50) CHARACTER SET big5, kr VARCHAR(50) CHARACTER SET euckr,
      u2 VARCHAR(50) CHARACTER SET ucs2, u16 VARCHAR(50) CHARACTER SET utf16, u32 TEXT CHARACTER SET utf32, ${V}) DEFAULT CHARSET=utf8mb4`,
    columns: ['u8', 'u8t', 'u3', 'l', 'lt', 'lc', 'c1250', 'sj', 'c932', 'gb', 'b5', 'kr', 'u2', 'u16', 'u32'],
    rows: [
      Array(15).fill('NULL').join(', '),
      Array(15).fill("''").join(', '),
      [
        `_utf8mb4 ${hex([...Buffer.from('😀 e\u0301 漢字 "\\\'')])}`,
        `_utf8mb4 ${hex([...Buffer.from('𝄞'.repeat(1000))])}`,
        `_utf8mb3 ${hex([...Buffer.from('ünïcødé ✓')])}`,
        hex(range(0x80, 0xff)),
        hex(repeat(LATIN1_HOLES, 100)),
        hex([0x81, 0x20, 0x9d]),
        hex(range(0x80, 0xff)),
        hex([0x81, 0x5c, 0x83, 0x5c, 0x95, 0x5c, 0x5c, 0x7e, 0x81, 0x5f, 0x81, 0x60]),
        hex([0x81, 0x5f, 0x81, 0x60, 0x87, 0x5c, 0xed, 0x40, 0xfa, 0x40]),
        hex([0x81, 0x5c, 0x81, 0x40, 0xfe, 0xfe, 0xa1, 0xa1]),
        hex([0xa4, 0x5c, 0xa4, 0x40, 0xf9, 0xfe, 0xa2, 0x41]),
        hex([0xb0, 0xa1, 0xc8, 0xfe, 0xa1, 0xa1]),
        hex([0x00, 0xe9, 0xd7, 0xff, 0xfe, 0xff]),
        hex([0xd8, 0x3d, 0xde, 0x00, 0x00, 0x41]),
        hex([0x00, 0x01, 0xf6, 0x00, 0x00, 0x00, 0x00, 0x41]),
      ].join(', '),
      // Maximum lengths: 200 latin1 / cp1250 bytes, 100 four-byte characters, 50 sjis double-byte characters.
      [
        `_utf8mb4 ${hex([...Buffer.from('😀'.repeat(100))])}`,
        "''",
        `_utf8mb3 ${hex([...Buffer.from('€'.repeat(50))])}`,
        hex(repeat(range(0xe0, 0xe7).concat(LATIN1_HOLES), 16).slice(0, 200)),
        hex(range(0x00, 0xff)),
        hex(repeat([0xff], 10)),
        hex(repeat([0x8a, 0x9a], 100)),
        hex(repeat([0x83, 0x5c], 50)),
        hex(repeat([0x87, 0x5c], 50)),
        hex(repeat([0x81, 0x5c], 50)),
        hex(repeat([0xa4, 0x5c], 50)),
        hex(repeat([0xb0, 0xa1], 50)),
        hex(repeat([0xd7, 0xff], 50)),
        hex(repeat([0xd8, 0x3d, 0xde, 0x00], 25)),
        hex(repeat([0x00, 0x10, 0xff, 0xff], 50)),
      ].join(', '),
    ],
    updates: [`UPDATE txt SET l = ${hex(LATIN1_HOLES)}, sj = ${hex([0x83, 0x5c])}, gb = ${hex([0x81, 0x5c])} WHERE id = ? + 3`],
  },
  {
    table: 'bin',
    ddl: `CREATE TABLE bin (id INT PRIMARY KEY, b BINARY(8), vb VARBINARY(8), bl BLOB, lb LONGBLOB, ${V})`,
    columns: ['b', 'vb', 'bl', 'lb'],
    rows: ['NULL, NULL, NULL, NULL', "'', '', '', ''", `x'01', x'010000', x'00', x'0000'`, `x'0100000000000000', x'0000000000000000', ${hex(range(0, 255))}, ${hex(repeat([0, 0xff], 40_000))}`],
    updates: [`UPDATE bin SET vb = x'00', b = x'00' WHERE id = ? + 2`],
  },
  {
    table: 'js',
    ddl: `CREATE TABLE js (id INT PRIMARY KEY, j JSON, ${V})`,
    columns: ['j'],
    rows: [
      'NULL',
      `'{"b": 1,   "a": [1, 2.50, "\\\\u00e9", "é"], "n": 18446744073709551615, "k": {"z": null, "a": true}}'`,
      `'null'`,
      `'""'`,
      `'[]'`,
      `' {\\n "x" : -0.0 } '`,
    ],
  },
  {
    table: 'geo',
    ddl: `CREATE TABLE geo (id INT PRIMARY KEY, g GEOMETRY, p POINT, ${V})`,
    columns: ['g', 'p'],
    extra: ['ST_SRID(g)', 'ST_SRID(p)'],
    rows: [
      'NULL, NULL',
      "ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(-0.5 1e300)', 4326)",
      "ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0.1)', 4326), NULL",
      "ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 2 1, 2 2, 1 1))', 3857), ST_GeomFromText('POINT(0 0)')",
      "ST_GeomFromText('MULTIPOINT(1 1, 2 2)'), NULL",
      "ST_GeomFromText('MULTILINESTRING((0 0, 1 1), (2 2, 3 3))', 4326), NULL",
      "ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))'), NULL",
      "ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))', 4326), NULL",
      "ST_GeomFromText('GEOMETRYCOLLECTION EMPTY'), NULL",
    ],
    updates: ["UPDATE geo SET g = ST_GeomFromText('POINT(3 4)', 4326) WHERE id = ? + 2"],
  },
  {
    table: 'uu',
    ddl: `CREATE TABLE uu (id INT PRIMARY KEY, u UUID, i4 INET4, i6 INET6, ${V})`,
    columns: ['u', 'i4', 'i6'],
    rows: [
      'NULL, NULL, NULL',
      "'6ccd780c-baba-1026-9564-5b8c656024db', '0.0.0.0', '::'",
      "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '255.255.255.255', '::ffff:1.2.3.4'",
      "'00000000-0000-0000-0000-000000000000', '10.0.0.1', '2001:db8::8a2e:370:7334'",
      "'ffffffff-ffff-ffff-ffff-ffffffffffff', '1.2.3.4', '::1'",
    ],
    updates: ["UPDATE uu SET u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', i6 = '::1.2.3.4' WHERE id = ? + 2"],
  },
  {
    // Primary keys in charsets that travel as bytes: the peer finds its rows by them (updates, deletes).
    // `{ez}` is the writing ezone's letter in hex, so a's and b's keys differ.
    table: 'pkc',
    ddl: `CREATE TABLE pkc (id INT NOT NULL UNIQUE, l VARCHAR(20) CHARACTER SET latin1, s VARCHAR(20) CHARACTER SET sjis, v INT, ${V}, PRIMARY KEY (l, s))`,
    columns: ['l', 's', 'v'],
    rows: ["x'819d{ez}', x'835c{ez}', 1", "x'{ez}', x'{ez}815f', 2", "x'e9{ez}8f', x'{ez}', 3", "x'{ez}20', x'5c{ez}', 4"],
    updates: ['UPDATE pkc SET v = v + 10 WHERE id = ? + 1', 'UPDATE pkc SET l = CONCAT(l, x\'90\') WHERE id = ? + 2', 'DELETE FROM pkc WHERE id = ? + 3'],
  },
  {
    // ENUM/SET edge values a strict peer accepts: SET '' and all members, multi-byte members, NULL.
    table: 'st',
    ddl: `CREATE TABLE st (id INT PRIMARY KEY, e ENUM('a','b','é','😀') NOT NULL DEFAULT 'a', en ENUM('x','y'), s SET('x','y','z','ü'), ${V}) DEFAULT CHARSET=utf8mb4`,
    columns: ['e', 'en', 's'],
    extra: ['e + 0', 's + 0'],
    rows: ["'a', NULL, NULL", "'😀', 'x', ''", "'é', 'y', 'x,y,z,ü'", "'b', 'x', 'ü'"],
    updates: ["UPDATE st SET s = '', e = '😀' WHERE id = ? + 3", "UPDATE st SET s = 'x,y,z,ü' WHERE id = ? + 4"],
  },
  {
    table: 'es',
    ddl: `CREATE TABLE es (id INT PRIMARY KEY, e ENUM('a','b','é') NOT NULL DEFAULT 'a', en ENUM('x','y'), s SET('x','y','z'), ${V}) DEFAULT CHARSET=utf8mb4`,
    columns: ['e', 'en', 's'],
    extra: ['e + 0', 's + 0'],
    // Last: a peer that refuses ENUM '' (strict apply sessions) stalls its origin's stream at this table.
    // 'zz' is no member: a non-strict sql_mode stores '' (index 0) with a warning.
    sqlMode: 'NO_ENGINE_SUBSTITUTION',
    rows: ["'a', NULL, NULL", "'zz', 'zz', ''", "'é', 'y', 'x,y,z'"],
    updates: ["UPDATE es SET e = 'qq', s = 'x,z' WHERE id = ? + 3"],
  },
];

/** Every compared column as HEX (and the extra expressions), row by row. */
async function hexRows(conn: mysql.Connection, f: Family): Promise<string> {
  const cols = [...f.columns.map((c) => `HEX(${c}) AS ${c}`), ...(f.extra ?? []).map((e, i) => `${e} AS x${i}`)];
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT id, ${cols.join(', ')} FROM ${f.table} ORDER BY id`);
  return JSON.stringify(rows);
}

async function checksum(conn: mysql.Connection, table: string): Promise<string> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
  return String(rows[0]?.Checksum);
}

const OFFSET = { a: 0, b: 100 } as const;

/** Rows per ezone once its updates (and deletes) ran. */
const rowsAfter = (f: Family) => f.rows.length - (f.updates ?? []).filter((u) => u.startsWith('DELETE')).length;

describeWithServers('type matrix: strings, binary, ENUM/SET, JSON, GEOMETRY, UUID/INET (issue 12)', () => {
  let s: Scenario;
  const daemons: Daemon[] = [];
  const written: Record<string, string> = {};

  let setup: Promise<void> | undefined;
  /** Written once, inside the first test (scenarios report their seed through the running test). */
  const ready = () => (setup ??= write());

  async function write(): Promise<void> {
    s = await scenario('type matrix text');
    for (const ez of ['a', 'b']) {
      for (const f of FAMILIES) await s.db[ez]!.query(f.ddl);
      await s.db[ez]!.query('CREATE TABLE seed (id INT PRIMARY KEY)');
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query('INSERT INTO seed VALUES (1)');
    await s.db.b!.query('INSERT INTO seed VALUES (2)');
    await converge(s, 'seed', ['a', 'b'], { rows: 2 });
    for (const ez of ['a', 'b'] as const) {
      const db = s.db[ez]!;
      for (const f of FAMILIES) {
        await db.query(`SET SESSION sql_mode = '${f.sqlMode ?? 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'}'`);
        for (const [i, values] of f.rows.entries()) await db.query(`INSERT INTO ${f.table} VALUES (${OFFSET[ez] + i + 1}, ${values.replaceAll('{ez}', Buffer.from(ez).toString('hex'))}, DEFAULT)`);
        for (const u of f.updates ?? []) await db.query(u, [OFFSET[ez]]);
      }
      await db.query("SET SESSION sql_mode = DEFAULT");
    }
    for (const f of FAMILIES) written[f.table] = await hexRows(s.db.a!, f);
  }

  afterAll(async () => {
    await stopDaemons(daemons);
    await s?.close();
  });

  for (const f of FAMILIES) {
    it(`${f.table}: every byte arrives in both directions (CHECKSUM TABLE, HEX per column)`, { timeout: 240_000 }, async () => {
      await ready();
      const deadline = Date.now() + 60_000;
      let a = '';
      let b = '';
      for (;;) {
        [a, b] = await Promise.all([hexRows(s.db.a!, f), hexRows(s.db.b!, f)]);
        if ((a === b && (JSON.parse(a) as unknown[]).length === 2 * rowsAfter(f)) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(JSON.parse(b)).toEqual(JSON.parse(a));
      expect((JSON.parse(a) as unknown[]).length).toBe(2 * rowsAfter(f));
      expect(await checksum(s.db.b!, f.table)).toBe(await checksum(s.db.a!, f.table));
      // a's own rows are as a wrote them (nothing the daemons did changed them).
      const own = (rows: string) => (JSON.parse(rows) as { id: number }[]).filter((r) => r.id < 100);
      expect(own(a)).toEqual(own(written[f.table]!));
    });
  }

  it('the written values are the edge values meant (latin1 holes, SRIDs)', async () => {
    await ready();
    const [l] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT HEX(l) AS l FROM txt WHERE id = 3');
    expect(l[0]?.l).toBe('818D8F909D');
    const [g] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT ST_SRID(g) AS s, ST_AsText(g) AS t FROM geo WHERE id = 102');
    expect(g[0]).toEqual({ s: 4326, t: 'POINT(3 4)' });
  });

  it("ENUM '' (index 0, written under a non-strict sql_mode) is stored as index 0 in the peer", async () => {
    await ready();
    const [e] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT id, e + 0 AS i, HEX(e) AS h FROM es WHERE id IN (2, 102) ORDER BY id');
    expect(e).toEqual([
      { id: 2, i: 0, h: '' },
      { id: 102, i: 0, h: '' },
    ]);
  });

  it('records no conflict for single-writer rows', async () => {
    await ready();
    const tables = new Set(FAMILIES.map((f) => f.table));
    const conflicts = [...(await conflictsIn(s, 'a')), ...(await conflictsIn(s, 'b'))].filter((c) => tables.has(c.table_name));
    expect(conflicts).toEqual([]);
  });
});
