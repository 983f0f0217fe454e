/**
 * `drc verify --repair` writes exactly the source's value: a row of edge values in every type family
 * (FLOAT/DOUBLE extremes and subnormals, -0, BIT(64) all ones, binary and latin1 bytes no decoder maps,
 * JSON numbers beyond 2^53, GEOMETRY with an SRID, DECIMAL at its limits, ENUM index 0, YEAR 0, TIME
 * at its bounds, INVISIBLE and generated columns) is repaired into an ezone where it is missing and
 * into one holding an older row; afterwards every column's stored bytes are those of the winner.
 * No daemons: values are written straight into two ezones' databases.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { runDrc } from '../support/cli.js';
import { describeWithServers } from '../support/env.js';
import { scenario, type Scenario } from '../support/scenario.js';

/** A column and the edge value written into the winning row (an SQL expression). */
const COLUMNS: { name: string; type: string; value: string }[] = [
  { name: 'f_max', type: 'FLOAT', value: '3.4028234663852886e38' },
  { name: 'f_subnormal', type: 'FLOAT', value: '1.401298464324817e-45' },
  { name: 'f_tenth', type: 'FLOAT', value: '0.1' },
  { name: 'f_seven', type: 'FLOAT', value: '16777215' },
  { name: 'f_neg_zero', type: 'FLOAT', value: '-1e-50' }, // a FLOAT -0 (a -0 literal is stored as 0)
  { name: 'f_digits', type: 'FLOAT(7,4)', value: '-999.9999' },
  { name: 'd_sum', type: 'DOUBLE', value: '0.1e0 + 0.2e0' },
  { name: 'd_max', type: 'DOUBLE', value: '1.7976931348623157e308' },
  { name: 'd_min', type: 'DOUBLE', value: '4.9406564584124654e-324' },
  { name: 'd_2_53', type: 'DOUBLE', value: '9007199254740993e0' },
  { name: 'b1', type: 'BIT(1)', value: "b'1'" },
  { name: 'b64', type: 'BIT(64)', value: "X'FFFFFFFFFFFFFFFF'" },
  { name: 'b13', type: 'BIT(13)', value: "b'1000000000001'" },
  { name: 'bin', type: 'VARBINARY(16)', value: "X'00FF80810A0D2720'" },
  { name: 'bin_pad', type: 'BINARY(4)', value: "X'00'" },
  { name: 'blob', type: 'BLOB', value: "X'EFBFBDC328FE'" },
  { name: 'latin1', type: 'VARCHAR(10) CHARACTER SET latin1', value: "_latin1 X'818D8F909D80FF'" },
  { name: 'latin1_text', type: 'TEXT CHARACTER SET latin1', value: "_latin1 X'00A0E9'" },
  { name: 'ascii_col', type: 'VARCHAR(5) CHARACTER SET ascii', value: "'a  '" },
  { name: 'utf8_emoji', type: 'VARCHAR(10) CHARACTER SET utf8mb4', value: "_utf8mb4 X'F09F9880F0A0AE9F2020'" },
  { name: 'j_big', type: 'JSON', value: '\'{"b": 12345678901234567890, "a": 1.0, "s": "\\\\u00e9\\\\ud83d\\\\ude00", "n": -0.0}\'' },
  { name: 'j_scalar', type: 'JSON', value: "'1e400'" },
  { name: 'geo', type: 'GEOMETRY', value: "ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))', 4326)" },
  { name: 'pt', type: 'POINT', value: "ST_GeomFromText('POINT(0.1 -1e300)')" },
  { name: 'dec_max', type: 'DECIMAL(65,30)', value: "'99999999999999999999999999999999999.999999999999999999999999999999'" },
  { name: 'dec_min', type: 'DECIMAL(65,30)', value: "'-0.000000000000000000000000000001'" },
  { name: 'dec_int', type: 'DECIMAL(65,0) UNSIGNED', value: "'99999999999999999999999999999999999999999999999999999999999999999'" },
  { name: 'dec_zero', type: 'DECIMAL(5,2)', value: "'-0.00'" },
  { name: 'big_u', type: 'BIGINT UNSIGNED', value: '18446744073709551615' },
  { name: 'big_s', type: 'BIGINT', value: '-9223372036854775808' },
  { name: 'e0', type: "ENUM('x','y')", value: "'bogus'" },
  { name: 's_all', type: "SET('a','b','c')", value: "'c,a'" },
  { name: 'y0', type: 'YEAR', value: '0' },
  { name: 't_min', type: 'TIME(6)', value: "'-838:59:59.000000'" },
  { name: 't_frac', type: 'TIME(6)', value: "'-00:00:00.000001'" },
  { name: 'dt_zero', type: 'DATETIME(6)', value: "'0000-00-00 00:00:00'" },
  { name: 'dt_max', type: 'DATETIME(6)', value: "'9999-12-31 23:59:59.999999'" },
  { name: 'ts', type: 'TIMESTAMP(6) NULL', value: "'2038-01-19 03:14:07.999999'" },
  { name: 'dt_leap', type: 'DATE', value: "'2024-02-29'" },
  { name: 'hidden', type: 'VARBINARY(4) INVISIBLE', value: "X'FF00'" },
  { name: 'uuid_col', type: 'UUID', value: "'00000000-0000-0000-0000-0000000000ff'" },
  { name: 'inet', type: 'INET6', value: "'::ffff:1.2.3.4'" },
];

/** Generated columns (never written by a repair; recomputed by the target from what it wrote). */
const GENERATED = [
  { name: 'g_bin', type: 'VARBINARY(20) AS (CONCAT(bin, X\'01\')) VIRTUAL' },
  { name: 'g_float', type: 'DOUBLE AS (f_tenth * 1) STORED' },
];

/** Each column's stored value as exact text (the bytes of strings, the server's own text of numbers). */
function exactText(c: { name: string; type: string }): string {
  const q = `\`${c.name}\``;
  if (/^(FLOAT|DOUBLE)/.test(c.type) || c.name === 'g_float') return `CONCAT(HEX(${q}), '|', IF(${q} = 0 AND ATAN2(${q}, -1) < 0, '-0', CAST(CAST(${q} AS DOUBLE) AS CHAR)))`;
  if (/^(BIT|ENUM|SET)/.test(c.type)) return `CAST(${q} + 0 AS CHAR)`;
  if (/^(GEOMETRY|POINT)/.test(c.type)) return `CONCAT(ST_SRID(${q}), ':', HEX(ST_AsBinary(${q})), ':', HEX(${q}))`;
  return `HEX(${q})`;
}

const ALL = [...COLUMNS, ...GENERATED];
const SELECT_EXACT = `SELECT id, ${ALL.map(exactText).join(', ')} FROM edge ORDER BY id`;

describeWithServers('drc verify --repair writes exactly the source value', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('repairs rows of edge values in every type family into an ezone missing them and one holding an older row, byte for byte', async () => {
    s = await scenario('verify repair values');
    const { a, b } = s.db as { a: mysql.Connection; b: mysql.Connection };
    const ddl = `CREATE TABLE edge (id INT PRIMARY KEY, ${COLUMNS.map((c) => `\`${c.name}\` ${c.type}`).join(', ')},
      ${GENERATED.map((g) => `\`${g.name}\` ${g.type}`).join(', ')},
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))`;
    const names = COLUMNS.map((c) => `\`${c.name}\``).join(', ');
    const values = COLUMNS.map((c) => c.value).join(', ');
    for (const db of [a, b]) {
      await db.query(ddl);
      await db.query("SET SESSION sql_mode = ''"); // ENUM index 0 and a zero DATETIME need a non-strict mode
    }
    // Row 1: the winner is in a, b lacks it. Row 2: the winner is in b, a holds an older, plain row.
    await a.query(`INSERT INTO edge (id, ${names}, updated_at) VALUES (1, ${values}, '2024-01-02 00:00:00')`);
    await b.query(`INSERT INTO edge (id, ${names}, updated_at) VALUES (2, ${values}, '2024-01-02 00:00:00')`);
    await a.query("INSERT INTO edge (id, f_tenth, bin, j_big, geo, updated_at) VALUES (2, 0.2, X'01', '[]', ST_GeomFromText('POINT(0 0)'), '2024-01-01 00:00:00')");
    for (const db of [a, b]) await db.query('SET SESSION sql_mode = DEFAULT');
    const [[winner]] = await a.query<mysql.RowDataPacket[]>({ sql: `${SELECT_EXACT} LIMIT 1`, rowsAsArray: true });
    const args = ['verify', '--config', s.configFile, '--ezones', 'a,b', '--recheck-ms', '10', '--json'];
    const found = await runDrc(args);
    expect(found.code, found.stderr).toBe(1);
    expect((JSON.parse(found.stdout) as { differences: { key: unknown }[] }).differences.map((d) => d.key)).toEqual([{ id: 1 }, { id: 2 }]);

    const repaired = await runDrc([...args, '--repair']);
    const [rowsA] = await a.query<mysql.RowDataPacket[]>({ sql: SELECT_EXACT, rowsAsArray: true });
    const [rowsB] = await b.query<mysql.RowDataPacket[]>({ sql: SELECT_EXACT, rowsAsArray: true });
    const named = (row: unknown) => Object.fromEntries(['id', ...ALL.map((c) => c.name)].map((n, i) => [n, (row as unknown[])[i]]));
    for (const rows of [rowsA, rowsB]) {
      expect(rows).toHaveLength(2);
      // Both rows hold the winner's values exactly (the id aside), in both ezones.
      for (const row of rows as unknown as unknown[][]) expect(named([1, ...row.slice(1)])).toEqual(named(winner));
    }
    expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
    const after = await runDrc(args);
    expect(after.code, after.stdout).toBe(0);
  });
});
