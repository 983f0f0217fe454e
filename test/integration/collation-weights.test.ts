/**
 * Key identity against the server's own comparisons (db/collation-weight.ts, db/key-identity.ts): two
 * values get one identity exactly when the server holds them equal — including values whose weights
 * outgrow the column's length (expansions: 'ß' = 'ss', Han characters under the UCA 14.0 collations,
 * accents at level 2 of `_as_` ones), which `WEIGHT_STRING(v AS CHAR(n))` cut short. And the premise
 * of the fast path (one bound value, the padded form): printable ASCII is never cut, under every PAD
 * SPACE collation this server has.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keyIdentityOf, keyIdentitySql } from '../../src/db/key-identity.js';
import { ensureMetaSchema } from '../../src/db/meta-schema.js';
import { newestTombstoneStatement, recordTombstonesStatement } from '../../src/db/tombstones.js';
import type { ColumnMeta } from '../../src/model/types/column-meta.js';
import { adminConnection, describeWithServers, infra } from '../support/env.js';

// MariaDB's collations (uca1400, multi-level PAD SPACE ones) and its information_schema: not run against MySQL.
describeWithServers('key identity follows the server collation, expansions included', () => {
  const mariadbOnly = infra().flavor === 'mariadb' ? it : it.skip;
  let db: mysql.Connection;
  beforeAll(async () => {
    db = await adminConnection('a');
    await ensureMetaSchema(db);
  });
  afterAll(async () => {
    await db.end();
  });

  const column = (collation: string, columnType: string): ColumnMeta[] => [{ name: 'k', dataType: columnType.replace(/\(.*/, ''), columnType, charset: 'utf8mb4', collation }];
  const identityOf = async (columns: ColumnMeta[], value: string, form: 'exact' | 'padded' = 'exact') => {
    const s = keyIdentitySql({ k: value }, keyIdentityOf(columns), form);
    const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT HEX(${s.sql}) AS h`, s.params);
    return String(rows[0]!.h);
  };

  mariadbOnly('printable ASCII weighs at most one weight per character and level under every PAD SPACE collation of the charsets keeping ASCII (singles and pairs)', async () => {
    const [collations] = await db.query<mysql.RowDataPacket[]>(
      `SELECT FULL_COLLATION_NAME AS c, CHARACTER_SET_NAME AS cs FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY
       WHERE FULL_COLLATION_NAME NOT LIKE '%nopad%' AND CHARACTER_SET_NAME IN ('utf8mb4', 'utf8mb3', 'latin1', 'ascii', 'ucs2', 'utf16', 'utf16le', 'utf32')`,
    );
    expect(collations.length).toBeGreaterThan(100);
    const cut: string[] = [];
    for (const { c, cs } of collations) {
      const w = (v: string, level: number, n?: number) => `LENGTH(WEIGHT_STRING(CONVERT(${v} USING ${cs}) COLLATE ${c}${n ? ` AS CHAR(${n})` : ''} LEVEL ${level}))`;
      const over = (v: string, n: number) => [1, 2, 3].map((l) => `${w(v, l)} > ${w("' '", l, n)}`).join(' OR ');
      const [rows] = await db.query<mysql.RowDataPacket[]>(
        `WITH RECURSIVE a(n) AS (SELECT 32 UNION ALL SELECT n + 1 FROM a WHERE n < 126)
         SELECT (SELECT COUNT(*) FROM a x JOIN a y WHERE ${over('CONCAT(CHAR(x.n USING ascii), CHAR(y.n USING ascii))', 2)})
              + (SELECT COUNT(*) FROM a WHERE ${over('CHAR(a.n USING ascii)', 1)}) AS cut`,
      );
      if (Number(rows[0]!.cut) > 0) cut.push(String(c));
    }
    expect(cut).toEqual([]);
  }, 180_000);

  mariadbOnly('one identity exactly when the server holds two values equal: every pair of a corpus of expansions, contractions, accents and Han, under every PAD SPACE utf8mb4 collation, in a VARCHAR(3) and a CHAR(1)', async () => {
    const [found] = await db.query<mysql.RowDataPacket[]>(
      "SELECT FULL_COLLATION_NAME AS c FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE CHARACTER_SET_NAME = 'utf8mb4' AND FULL_COLLATION_NAME NOT LIKE '%nopad%' ORDER BY 1",
    );
    const collations = found.map((r) => String(r.c));
    expect(collations).toEqual(expect.arrayContaining(['utf8mb4_unicode_ci', 'utf8mb4_uca1400_ai_cs', 'utf8mb4_uca1400_as_cs', 'utf8mb4_thai_520_w2', 'utf8mb4_german2_ci']));
    // Values of at most 3 characters; some outgrow 3 weights at some level, some do not, and some have an
    // unaccented or unexpanded spelling the server holds equal under some collations.
    const corpus = ['kss', 'kßz', 'KSS', 'kß', 'ßß', 'ßss', 'ssß', 'ßz', 'ßz ', 'ss', 'ß', 'ß\u00a0', 'ß\u3000', 'ß \u200b', 'öäü', 'oeä', 'ae', 'æ', 'ǆ', 'dž', 'ﬁ', 'fi', 'ch', 'cha', 'ee', 'eee', 'éèe', 'éée', 'ÉÈE', 'éè', 'éé', 'ée', 'e', 'é', 'mül', 'mul', 'ếế', 'ếề', 'ệ', 'ể', '中文字', '中字文', '中文', '中字', '中', '東京都', 'ａｂｃ', 'abc', 'Å', 'A', 'a ', 'a', 'ก่', 'ก'];
    const wrong: string[] = [];
    for (const [type, length] of [['varchar(3)', 3], ['char(1)', 1]] as const) {
      const values = corpus.filter((v) => [...v].length <= length); // what the column can hold
      for (const collation of collations) {
        const columns = column(collation, type);
        const ids = new Map<string, string>();
        for (const v of values) ids.set(v, await identityOf(columns, v));
        const pairs = values.flatMap((a, i) => values.slice(i + 1).map((b) => [a, b] as const));
        const [rows] = await db.query<mysql.RowDataPacket[]>(
          pairs.map((_, i) => `SELECT ${i} AS i, CONVERT(? USING utf8mb4) COLLATE ${collation} = CONVERT(? USING utf8mb4) AS eq`).join(' UNION ALL '),
          pairs.flat(),
        );
        for (const r of rows) {
          const [a, b] = pairs[Number(r.i)]!;
          const same = ids.get(a) === ids.get(b);
          if (same !== (Number(r.eq) === 1)) wrong.push(`${collation} ${type} ${JSON.stringify(a)} ${JSON.stringify(b)}: server ${Number(r.eq) === 1 ? 'equal' : 'apart'}, identities ${same ? 'one' : 'two'}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // Values never cut keep the identity stored before (tombstones and claims recorded then stay valid).
    const uca = column('utf8mb4_unicode_ci', 'varchar(3)');
    for (const v of ['kss', 'ßz', 'é', '中']) expect(await identityOf(uca, v), v).toBe(await identityOf(uca, v, 'padded'));
    expect(await identityOf(uca, 'kßz')).not.toBe(await identityOf(uca, 'kßz', 'padded'));
  }, 300_000);

  it("a tombstone recorded before (identity version 1, the padded identity) is still found for a cut key until a newer one of the key now owning that identity replaces it", async () => {
    const schema = `t_weights_${Date.now()}`;
    const columns = column('utf8mb4_unicode_ci', 'varchar(3)');
    const identity = keyIdentityOf(columns);
    const padded = keyIdentitySql({ k: 'kßz' }, identity, 'padded'); // = the identity of 'kss'
    // What a daemon before this change recorded for a delete of 'kßz': the padded identity, version 1 (the column's default).
    await db.query(
      `INSERT INTO drc_meta.applied_tombstones (schema_name, table_name, key_hash, key_json, version, origin, deleted_at) VALUES (?, 't', ${padded.sql}, '[]', 100, 'x', UTC_TIMESTAMP(6))`,
      [schema, ...padded.params],
    );
    const record = async (k: string, version: string) => {
      const st = recordTombstonesStatement('applied_tombstones', [{ schema, table: 't', key: { k }, version, origin: 'x', identity }])!;
      await db.query(st.sql, st.params);
    };
    const found = async (k: string) => {
      const st = newestTombstoneStatement(schema, 't', { k }, identity);
      const [rows] = await db.query<mysql.RowDataPacket[]>(st.sql, st.params);
      return rows.map((r) => String(r.version));
    };
    try {
      expect(await found('kßz')).toEqual(['100']);
      expect(await found('kss')).toEqual(['100']); // as before the upgrade: the cut identity is shared
      await record('kss', '50'); // older than kßz's delete: the row stays kßz's too
      expect(await found('kßz')).toEqual(['100']);
      await record('kss', '200'); // newer: the row is kss's now, its key text too
      const [owner] = await db.query<mysql.RowDataPacket[]>('SELECT key_json FROM drc_meta.applied_tombstones WHERE schema_name = ?', [schema]);
      expect(owner.map((r) => String(r.key_json))).toEqual([JSON.stringify([['k', 'kss']])]);
      expect(await found('kßz')).toEqual([]);
      expect(await found('kss')).toEqual(['200']);
      await record('kßz', '300'); // recorded now: under its own identity
      expect(await found('kßz')).toEqual(['300']);
      expect(await found('kss')).toEqual(['200']);
    } finally {
      await db.query('DELETE FROM drc_meta.applied_tombstones WHERE schema_name = ?', [schema]);
    }
  });
});
