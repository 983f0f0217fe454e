/**
 * Issue 12: write sets fold text keys without a round trip (src/apply/key-fold.ts); the fold must merge
 * every pair of texts the server's collations hold equal (merging more is allowed). Checked here against
 * the server's own weight strings, character by character, and on multi-character equalities.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { foldKeyText } from '../../src/apply/key-fold.js';
import { adminConnection, describeWithServers } from '../support/env.js';

/** Characters of [from, to) sharing a weight under `collation` (between 'x' and 'y') that the fold keeps apart. */
async function unmerged(conn: mysql.Connection, collation: string, from: number, to: number): Promise<string[]> {
  const chars: string[] = [];
  for (let cp = from; cp < to; cp++) if (cp < 0xd800 || cp >= 0xe000) chars.push(String.fromCodePoint(cp));
  chars.push(...[0x1f600, 0x1f601, 0x10400, 0x10428, 0x20000].map((cp) => String.fromCodePoint(cp)));
  const groups = new Map<string, string[]>();
  for (let i = 0; i < chars.length; i += 500) {
    const part = chars.slice(i, i + 500);
    const sql = part.map(() => `SELECT ? AS ch, HEX(WEIGHT_STRING(CONVERT(? USING utf8mb4) COLLATE ${collation})) AS w`).join(' UNION ALL ');
    const [rows] = await conn.query<mysql.RowDataPacket[]>(sql, part.flatMap((ch) => [ch, `x${ch}y`]));
    for (const r of rows) groups.set(String(r.w), [...(groups.get(String(r.w)) ?? []), String(r.ch)]);
  }
  const missed: string[] = [];
  for (const group of groups.values()) {
    const folds = new Set(group.map((ch) => foldKeyText(`x${ch}y`)));
    if (folds.size > 1) missed.push(group.map((ch) => `U+${(ch.codePointAt(0) as number).toString(16)}`).join(' '));
  }
  return missed;
}

describeWithServers('key folding against the server collations (issue 12)', () => {
  let conn: mysql.Connection;
  beforeAll(async () => {
    conn = await adminConnection('a', { charset: 'utf8mb4' });
  });
  afterAll(async () => {
    await conn.end();
  });

  it('merges every character utf8mb4_general_ci holds equal, U+0020 to U+2FFF and beyond the BMP', async () => {
    expect(await unmerged(conn, 'utf8mb4_general_ci', 0x20, 0x3000)).toEqual([]);
  });

  it('merges every Latin character the UCA collations hold equal (U+0020 to U+024F)', async () => {
    for (const collation of ['utf8mb4_unicode_ci', 'utf8mb4_unicode_520_ci', 'utf8mb4_uca1400_ai_ci']) {
      expect(await unmerged(conn, collation, 0x20, 0x250), collation).toEqual([]);
    }
  });

  it('merges multi-character equalities: expansions, PAD SPACE, ignorables', async () => {
    const pairs = [
      ['straße', 'strasse'], ['STRASSE', 'straße'], ['ẞ', 'ss'], ['æon', 'aeon'], ['Œuvre', 'oeuvre'], ['ﬁle', 'file'],
      ['x', 'x   '], ['a\u00adb', 'ab'], ['Ǆ', 'dž'], ['ǈ', 'lj'], ['Ĳ', 'ij'], ['½', '1/2'], ['①', '1'], ['Ａｂｃ', 'abc'],
    ];
    for (const collation of ['utf8mb4_general_ci', 'utf8mb4_unicode_ci', 'utf8mb4_unicode_520_ci', 'utf8mb4_uca1400_ai_ci']) {
      for (const [p, q] of pairs) {
        const [[row]] = await conn.query<mysql.RowDataPacket[]>(`SELECT CONVERT(? USING utf8mb4) COLLATE ${collation} = CONVERT(? USING utf8mb4) AS eq`, [p, q]);
        if (Number(row!.eq) === 1) expect(foldKeyText(p!), `${collation}: ${p} = ${q}`).toBe(foldKeyText(q!));
      }
    }
  });
});
