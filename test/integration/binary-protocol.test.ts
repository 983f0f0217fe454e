/**
 * Large values travel in the binary protocol (db/pipelined-session.ts: a write with a value of 1 MB or
 * more is a prepared statement, so the driver never builds a hex-escaped copy of it). The same write of
 * every type family must store the same bytes either way: here every write goes that way (threshold 0)
 * and is compared, column by column (HEX) and by CHECKSUM TABLE, with the text protocol's.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { KEY_INDEX_COLUMN, insertRows, selectByKeys, updateRow } from '../../src/apply/sql/rows.js';
import { TableCache } from '../../src/apply/table-cache.js';
import { ezoneOf } from '../../src/config/loader.js';
import { createPool } from '../../src/db/connect.js';
import { PipelinedSession } from '../../src/db/pipelined-session.js';
import { toWireRow } from '../../src/model/value.js';
import { describeWithServers } from '../support/env.js';
import { scenario, type Scenario } from '../support/scenario.js';

const COLUMNS = `id INT PRIMARY KEY, i BIGINT UNSIGNED, n BIGINT, d DECIMAL(65,30), f FLOAT, db DOUBLE, bt BIT(13),
  dt DATE, ts DATETIME(6), tm TIME(6), y YEAR, e ENUM('a','b'), st SET('x','y','z'), j JSON, g GEOMETRY, p POINT,
  u8 VARCHAR(100) CHARACTER SET utf8mb4, l VARCHAR(50) CHARACTER SET latin1, sj VARCHAR(20) CHARACTER SET sjis,
  u16 VARCHAR(20) CHARACTER SET utf16, b BINARY(4), vb VARBINARY(8), bl LONGBLOB, ip INET6, uu UUID`;
const NAMES = ['i', 'n', 'd', 'f', 'db', 'bt', 'dt', 'ts', 'tm', 'y', 'e', 'st', 'j', 'g', 'p', 'u8', 'l', 'sj', 'u16', 'b', 'vb', 'bl', 'ip', 'uu'];
const ROWS = [
  `1, 18446744073709551615, -9223372036854775808, '-12345678901234567890123456789012345.123456789012345678901234567890', 16777216, 20000000.75, b'1010101010101',
   '1000-01-01', '9999-12-31 23:59:59.999999', '-838:59:59.000000', 0, 'a', 'x,z', '{"a": [1, 2.50, "é"], "n": 18446744073709551615}',
   ST_GeomFromText('LINESTRING(0 0, 1 1)', 4326), POINT(1.5, -2), _utf8mb4 x'F09F988020C3A9', x'818D8F909D', x'835C815F', x'D83DDE00', x'01', x'0100000000', x'00FF00', '::ffff:1.2.3.4', '123e4567-e89b-12d3-a456-426614174000'`,
  Array.from({ length: NAMES.length }, () => 'NULL').join(', ').replace(/^/, '2, '),
  `3, 0, 0, 0, -0.0, 1e-308, b'0', '2020-02-29', '2038-01-19 03:14:07.000001', '00:00:00', 2155, 'b', '', 'null', POINT(0, 0), POINT(0, 0), '', '', '', '', '', '', '', '::', '00000000-0000-0000-0000-000000000000'`,
];

describeWithServers('values in the binary protocol (prepared statements)', () => {
  let s: Scenario | undefined;
  let pool: mysql.Pool | undefined;
  afterEach(async () => {
    await pool?.end();
    await s?.close();
    pool = undefined;
    s = undefined;
  });

  it('store every type family exactly as the text protocol does, in inserts and updates', async () => {
    s = await scenario('binproto', {}, { ezones: ['a'] });
    const db = s.db.a!;
    for (const t of ['src', 'via_text', 'via_binary']) await db.query(`CREATE TABLE ${t} (${COLUMNS}) DEFAULT CHARSET=utf8mb4`);
    for (const r of ROWS) await db.query(`INSERT INTO src VALUES (${r})`);

    pool = createPool(ezoneOf(s.config, 'a').mysql, 2, { multipleStatements: true, apply: true });
    const conn = await pool.getConnection();
    try {
      const info = (await new TableCache(conn).get(s.schema, 'src'))!;
      const [read] = await conn.query<mysql.RowDataPacket[]>(selectByKeys(s.schema, 'src', ['id'], [{ id: 1 }, { id: 2 }, { id: 3 }], info).sql, [1, 2, 3]);
      const rows = read.map((r) => {
        delete r[KEY_INDEX_COLUMN];
        return toWireRow(r, info.columnTypes);
      });
      expect(rows).toHaveLength(3);
      const sessions = { via_text: new PipelinedSession({ query: (q, p) => conn.query(q, p) }), via_binary: new PipelinedSession(conn, 0) };
      for (const [table, session] of Object.entries(sessions)) {
        for (const row of rows) await session.roundTrip([insertRows(s.schema, table, [row], info)]);
        // An update in place (row 3 takes row 1's values), too.
        await session.roundTrip([updateRow(s.schema, table, ['id'], { id: 3 }, { ...rows[0]!, id: 3 }, info)]);
      }
      await db.query('UPDATE src SET ' + NAMES.map((c) => `${c} = (SELECT ${c} FROM (SELECT * FROM src WHERE id = 1) x)`).join(', ') + ' WHERE id = 3');
      const [[status]] = await conn.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Com_stmt_execute'");
      expect(Number(status?.Value)).toBe(3); // the binary session's writes with a text or binary value (not the all-NULL row); none of the text one's
    } finally {
      conn.release();
    }
    const hexOf = async (t: string) => JSON.stringify((await db.query<mysql.RowDataPacket[]>(`SELECT id, ${NAMES.map((c) => `HEX(${c}) AS ${c}`).join(', ')} FROM ${t} ORDER BY id`))[0]);
    const src = await hexOf('src');
    expect(await hexOf('via_text')).toBe(src);
    expect(await hexOf('via_binary')).toBe(src);
    const [sums] = await db.query<mysql.RowDataPacket[]>('CHECKSUM TABLE src, via_text, via_binary');
    expect(new Set(sums.map((r) => String(r.Checksum))).size).toBe(1);
  });
});
