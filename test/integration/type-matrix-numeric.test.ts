/**
 * Issue 12, numeric and temporal families: every edge value written in one ezone arrives
 * byte-identical in the other, both ways, by real daemons over Kafka. Compared with `CHECKSUM TABLE`
 * (the stored record bytes) and per column with `HEX(CAST(… AS BINARY))` (FLOAT through
 * `CAST(… AS DOUBLE)`: its text has 6 digits), row by row. Plus the DOUBLE rows of the issue's table.
 */
import type mysql from 'mysql2/promise';
import { afterAll, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

/** One table per family: its columns, and rows of edge values (each row lists every column but `id`). */
interface Family {
  table: string;
  columns: [name: string, type: string][];
  rows: string[][];
}

const FAMILIES: Family[] = [
  {
    table: 'ints',
    columns: [
      ['ti', 'TINYINT'], ['uti', 'TINYINT UNSIGNED'], ['si', 'SMALLINT'], ['usi', 'SMALLINT UNSIGNED'],
      ['mi', 'MEDIUMINT'], ['umi', 'MEDIUMINT UNSIGNED'], ['i', 'INT'], ['ui', 'INT UNSIGNED'],
      ['bi', 'BIGINT'], ['ubi', 'BIGINT UNSIGNED'],
    ],
    rows: [
      ['-128', '0', '-32768', '0', '-8388608', '0', '-2147483648', '0', '-9223372036854775808', '0'],
      ['127', '255', '32767', '65535', '8388607', '16777215', '2147483647', '4294967295', '9223372036854775807', '18446744073709551615'],
      ['0', '1', '-1', '1', '-1', '1', '-1', '1', '-9007199254740993', '9007199254740993'],
      Array(10).fill('NULL'),
    ],
  },
  {
    table: 'decs',
    columns: [['d65', 'DECIMAL(65,30)'], ['d0', 'DECIMAL(65,0)'], ['d52', 'DECIMAL(5,2)'], ['d11', 'DECIMAL(1,1)']],
    rows: [
      ["'99999999999999999999999999999999999.999999999999999999999999999999'", "'99999999999999999999999999999999999999999999999999999999999999999'", "'999.99'", "'0.9'"],
      ["'-99999999999999999999999999999999999.999999999999999999999999999999'", "'-99999999999999999999999999999999999999999999999999999999999999999'", "'-999.99'", "'-0.9'"],
      ["'0.000000000000000000000000000001'", "'0'", "'-0.0'", "'-0.0'"],
      ["'-0.000000000000000000000000000001'", "'-1'", "'0.01'", "'0.0'"],
      ['NULL', 'NULL', 'NULL', 'NULL'],
    ],
  },
  {
    table: 'floats',
    columns: [['f', 'FLOAT'], ['f24', 'FLOAT(24)'], ['d', 'DOUBLE'], ['r', 'REAL'], ['f53', 'FLOAT(53)'], ['d102', 'DOUBLE(10,2)'], ['f73', 'FLOAT(7,3)']],
    rows: [
      ['1.1', '16777216', '20000000.25', '0.30000000000000004', '1.7976931348623157e308', '12345678.91', '1234.567'],
      ['3.4028234663852886e38', '-1.1754943508222875e-38', '5e-324', '-2.2250738585072014e-308', '123456789012345680000', '-99999999.99', '-9999.999'],
      ['123456792', '1e-45', '-20000000.75', '9007199254740993', '0.1', '0.01', '0.001'],
      ['0', '-1e-50', '0', '-0e0', '1e21', '-0.0', '0'], // -1e-50 underflows to a FLOAT -0 (the server turns a -0 literal into 0)
      Array(7).fill('NULL'),
    ],
  },
  {
    table: 'bits',
    columns: [['b1', 'BIT(1)'], ['b8', 'BIT(8)'], ['b9', 'BIT(9)'], ['b63', 'BIT(63)'], ['b64', 'BIT(64)']],
    rows: [
      ["b'0'", "b'0'", "b'0'", "b'0'", "b'0'"],
      ["b'1'", "b'11111111'", "b'111111111'", "b'111111111111111111111111111111111111111111111111111111111111111'", '0xFFFFFFFFFFFFFFFF'],
      ["b'1'", "b'10000000'", "b'100000001'", "b'100000000000000000000000000000000000000000000000000000000000001'", '0x8000000000000001'],
      ['NULL', 'NULL', 'NULL', 'NULL', 'NULL'],
    ],
  },
  {
    table: 'years',
    columns: [['y', 'YEAR']],
    rows: [['0'], ["'0000'"], ['1901'], ['2155'], ["'2000'"], ['NULL']],
  },
  {
    table: 'temporals',
    columns: [
      ['dt', 'DATE'], ['dt0', 'DATETIME'], ['dt1', 'DATETIME(1)'], ['dt3', 'DATETIME(3)'], ['dt6', 'DATETIME(6)'],
      ['ts6', 'TIMESTAMP(6) NULL'], ['t0', 'TIME'], ['t6', 'TIME(6)'],
    ],
    rows: [
      ["'1000-01-01'", "'1000-01-01 00:00:00'", "'1000-01-01 00:00:00.1'", "'1000-01-01 00:00:00.001'", "'1000-01-01 00:00:00.000001'", "'1970-01-01 00:00:01.000000'", "'-838:59:59'", "'-838:59:59.000000'"],
      ["'9999-12-31'", "'9999-12-31 23:59:59'", "'9999-12-31 23:59:59.9'", "'9999-12-31 23:59:59.999'", "'9999-12-31 23:59:59.999999'", "'2038-01-19 03:14:07.999999'", "'838:59:59'", "'838:59:59.000000'"],
      ["'0000-00-00'", "'0000-00-00 00:00:00'", "'2020-00-15 12:00:00.5'", "'2020-02-00 00:00:00.010'", "'0000-00-00 00:00:00.000000'", "'0000-00-00 00:00:00.000000'", "'00:00:00'", "'-00:00:00.000001'"],
      ["'2020-00-15'", "'2024-02-29 23:59:59'", "'2024-02-29 23:59:59.0'", "'2024-02-29 23:59:59.500'", "'2024-02-29 23:59:59.123456'", "'2024-02-29 23:59:59.000001'", "'-00:00:01'", "'12:34:56.789012'"],
      Array(8).fill('NULL'),
    ],
  },
];

/** Per-column exact text of every row, ordered by id. */
async function hexRows(conn: mysql.Connection, f: Family): Promise<string[]> {
  const exprs = f.columns.map(([c, type]) => {
    const float32 = type.startsWith('FLOAT') && type !== 'FLOAT(53)';
    const value = float32 ? `CAST(\`${c}\` AS DOUBLE)` : `\`${c}\``;
    return `IFNULL(HEX(CAST(${value} AS BINARY)), 'NULL')`;
  });
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT CONCAT_WS('|', id, ${exprs.join(', ')}) AS h FROM ${f.table} ORDER BY id`);
  return rows.map((r) => String(r.h));
}

const checksum = async (conn: mysql.Connection, table: string) => {
  const [[row]] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
  return String(row?.Checksum);
};

describeWithServers('numeric and temporal values replicate byte for byte (issue 12)', () => {
  let s: Scenario;
  const daemons: Daemon[] = [];
  const EZ = ['a', 'b'];

  let ready: Promise<void> | undefined;
  /** The schema, tables and daemons, made once by the first test that runs (a scenario is made inside a test). */
  const setup = () => (ready ??= create());
  async function create(): Promise<void> {
    s = await scenario('type-matrix-numeric');
    for (const ez of EZ) {
      const db = s.db[ez]!;
      // The writers use a non-strict sql_mode where an edge value needs it (zero dates, zero in dates).
      await db.query("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'");
      for (const f of FAMILIES) await db.query(`CREATE TABLE ${f.table} (id INT PRIMARY KEY, ${f.columns.map(([c, t]) => `\`${c}\` ${t}`).join(', ')})`);
      await db.query('CREATE TABLE dbl (id INT PRIMARY KEY, d DOUBLE NOT NULL, updated_at DATETIME(6) NOT NULL)');
      await db.query('CREATE TABLE dpk (k DOUBLE PRIMARY KEY, v VARCHAR(8) NOT NULL)');
      await db.query('CREATE TABLE fpk (k FLOAT PRIMARY KEY, v VARCHAR(8) NOT NULL)');
    }
    daemons.push(...(await startDaemons(s, EZ)));
  }

  afterAll(async () => {
    await stopDaemons(daemons);
    await s?.close();
  });

  /** Wait until `table` holds `rows` rows in both ezones with the same checksum; returns its per-column texts. */
  async function identical(table: string, f: Family | undefined, rows: number): Promise<string[]> {
    await eventually(`${table}: ${rows} rows, one checksum in a and b`, async () => {
      const counts = await Promise.all(EZ.map(async (ez) => (await s.db[ez]!.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`))[0][0]?.n));
      if (counts.some((n) => Number(n) !== rows)) return false;
      const sums = await Promise.all(EZ.map((ez) => checksum(s.db[ez]!, table)));
      return sums[0] === sums[1];
    }, 60_000);
    if (!f) return [];
    const [a, b] = await Promise.all(EZ.map((ez) => hexRows(s.db[ez]!, f)));
    expect(b).toEqual(a);
    return a!;
  }

  it('every edge value (and NULL) of each family, written in a and in b, arrives identical in the other', async () => {
    await setup();
    for (const f of FAMILIES) {
      const cols = ['id', ...f.columns.map(([c]) => `\`${c}\``)].join(', ');
      for (const [ez, base] of [['a', 0], ['b', 100]] as const) {
        const values = f.rows.map((r, i) => `(${[base + i + 1, ...r].join(', ')})`).join(', ');
        await s.db[ez]!.query(`INSERT INTO ${f.table} (${cols}) VALUES ${values}`);
      }
    }
    for (const f of FAMILIES) {
      const texts = await identical(f.table, f, f.rows.length * 2);
      // What b wrote is what a wrote, row for row (the same values under other keys).
      const strip = (t: string) => t.slice(t.indexOf('|'));
      expect(texts.slice(f.rows.length).map(strip)).toEqual(texts.slice(0, f.rows.length).map(strip));
    }
    // A few values checked as text, so a systematic mistake in both ezones would show too.
    const [years] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT CAST(y AS CHAR) AS y FROM years WHERE id BETWEEN 1 AND 4 ORDER BY id');
    expect(years.map((r) => r.y)).toEqual(['0000', '0000', '1901', '2155']);
    const [floats] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT CAST(f24 AS DOUBLE) AS f24, d FROM floats WHERE id = 1');
    expect(floats[0]).toEqual({ f24: 16777216, d: 20000000.25 });
    const [bits] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT HEX(b64) AS h, b1 + 0 AS one FROM bits WHERE id = 102');
    expect(bits[0]).toEqual({ h: 'FFFFFFFFFFFFFFFF', one: 1 });
    const [dates] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT CAST(dt AS CHAR) AS dt, CAST(dt1 AS CHAR) AS dt1 FROM temporals WHERE id = 103');
    expect(dates[0]).toEqual({ dt: '0000-00-00', dt1: '2020-00-15 12:00:00.5' });
  });

  it('updates every value in place, in both directions, without a conflict (FLOAT read exactly, not as 6 digits)', async () => {
    await setup();
    await s.db.a!.query('UPDATE floats SET f = 16777218, f24 = 123456800, d = d * 3, r = 0.1, d102 = 12345678.92, f73 = 1234.568 WHERE id = 1');
    await s.db.b!.query('UPDATE floats SET f = 1.0000001, d = 20000000.75 WHERE id = 101');
    await s.db.a!.query("UPDATE years SET y = 1901 WHERE id = 1");
    await s.db.b!.query("UPDATE years SET y = 0 WHERE id = 103");
    await s.db.a!.query("UPDATE bits SET b64 = 0x7FFFFFFFFFFFFFFF, b1 = b'0' WHERE id = 2");
    await s.db.b!.query('UPDATE ints SET ubi = ubi - 1, bi = bi - 1 WHERE id = 102');
    await s.db.a!.query("UPDATE temporals SET dt6 = '9999-12-31 23:59:59.999998', t6 = '-838:59:58.999999' WHERE id = 2");
    for (const f of FAMILIES) await identical(f.table, f, f.rows.length * 2);
    const [[f1]] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT CAST(f AS DOUBLE) AS f, d FROM floats WHERE id = 1');
    expect(f1).toEqual({ f: 16777218, d: 60000000.75 });
    const [[y3]] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT CAST(y AS CHAR) AS y FROM years WHERE id = 103');
    expect(y3?.y).toBe('0000');
    expect(await conflictsIn(s, 'a')).toEqual([]);
    expect(await conflictsIn(s, 'b')).toEqual([]);
  });

  it('a DOUBLE changed beyond float32 precision replicates (20000000.25 → 20000000.75)', async () => {
    await setup();
    await s.db.a!.query("INSERT INTO dbl VALUES (1, 20000000.25, '2030-01-01')");
    await identical('dbl', undefined, 1);
    await s.db.a!.query('UPDATE dbl SET d = 20000000.75 WHERE id = 1'); // the version stays: only the DOUBLE changes
    await eventually('the update arrives in b', async () => (await s.db.b!.query<mysql.RowDataPacket[]>('SELECT d FROM dbl WHERE id = 1'))[0][0]?.d === 20000000.75);
    await identical('dbl', undefined, 1);
  });

  it('two DOUBLE primary keys equal at float32, in one INSERT, both survive', async () => {
    await setup();
    await s.db.a!.query("INSERT INTO dpk VALUES (20000000.25, 'x'), (20000000.75, 'y'), (20000001, 'z')");
    await identical('dpk', undefined, 3);
    const [rows] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT k, v FROM dpk ORDER BY k');
    expect(rows).toEqual([{ k: 20000000.25, v: 'x' }, { k: 20000000.75, v: 'y' }, { k: 20000001, v: 'z' }]);
    // A key changed beyond float32 precision is a new key: the old row goes.
    await s.db.b!.query('UPDATE dpk SET k = 20000001.25 WHERE k = 20000001');
    await eventually('the key change arrives in a', async () => (await s.db.a!.query<mysql.RowDataPacket[]>('SELECT k FROM dpk WHERE v = ?', ['z']))[0].map((r) => r.k).join() === '20000001.25');
    await identical('dpk', undefined, 3);
  });

  it('FLOAT primary keys beyond 6 digits are found again in the peer: updates and deletes apply without a conflict', async () => {
    await setup();
    await s.db.a!.query("INSERT INTO fpk VALUES (1.1, 'a'), (16777216, 'b'), (16777218, 'c'), (-3.4028234663852886e38, 'd')");
    await identical('fpk', undefined, 4);
    await s.db.b!.query("UPDATE fpk SET v = 'B' WHERE k = 16777216");
    await s.db.b!.query('DELETE FROM fpk WHERE k = 16777218');
    await s.db.b!.query("UPDATE fpk SET v = 'A' WHERE k = CAST(1.1 AS FLOAT)");
    await identical('fpk', undefined, 3);
    const [rows] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT CAST(k AS DOUBLE) AS k, v FROM fpk ORDER BY k');
    expect(rows).toEqual([{ k: -3.4028234663852886e38, v: 'd' }, { k: 1.100000023841858, v: 'A' }, { k: 16777216, v: 'B' }]);
    expect((await conflictsIn(s, 'a')).filter((c) => c.table_name === 'fpk')).toEqual([]);
  });

  it('equal versions differing only in a DOUBLE converge to one winner, with the conflict recorded', async () => {
    await setup();
    await s.db.a!.query("INSERT INTO dbl VALUES (2, 1, '2030-01-01')");
    await identical('dbl', undefined, 2);
    await stopDaemons(daemons);
    await s.db.a!.query("UPDATE dbl SET d = 30000000.25, updated_at = '2030-06-01' WHERE id = 2");
    await s.db.b!.query("UPDATE dbl SET d = 30000000.75, updated_at = '2030-06-01' WHERE id = 2");
    daemons.push(...(await startDaemons(s, EZ)));
    await eventually('one winner in a and b', async () => {
      const ds = await Promise.all(EZ.map(async (ez) => (await s.db[ez]!.query<mysql.RowDataPacket[]>('SELECT d FROM dbl WHERE id = 2'))[0][0]?.d));
      return ds[0] === ds[1];
    }, 60_000);
    await identical('dbl', undefined, 2);
    const [[winner]] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT d FROM dbl WHERE id = 2');
    expect(winner?.d).toBe(30000000.75); // the tie-break on the exact text: "30000000.75" > "30000000.25"
    const dbl = async (ez: string) => (await conflictsIn(s, ez)).filter((c) => c.table_name === 'dbl').map((c) => `${c.key_json} ${c.reason} ${c.decision} from ${c.origin}`);
    await eventually('a conflict in each ezone', async () => (await dbl('a')).length === 1 && (await dbl('b')).length === 1);
    expect(await dbl('a')).toEqual(['{"id":2} update-diverged applied from b']);
    expect(await dbl('b')).toEqual(['{"id":2} update-diverged skipped from a']);
  });
});
