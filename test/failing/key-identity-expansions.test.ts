/**
 * NOT RUN BY `npm test`: it fails on the current code (a known limit, README "Key identity"). It lives
 * outside test/integration/ so the suite stays honest; move it back there to run it.
 *
 * What it shows: db/collation-weight.ts pads a PAD SPACE value with `WEIGHT_STRING(v AS CHAR(n))`,
 * which also cuts the weight string to n weights per level, so two keys the server holds apart can get
 * one identity. Here 'kßz' (4 weights: k s s z under utf8mb4_unicode_ci) in a VARCHAR(3) is identified
 * as 'kss': a tombstone of 'kßz' holds back an older insert of 'kss' in the ezone that deleted 'kßz',
 * and the ezones diverge (a skips 'kss' as `tombstone-newer`, b keeps it). Unique-value claims use the
 * same weight. The same cut hits, found in review (not in this test yet):
 * - Han characters under utf8mb4_unicode_520_ci and the uca1400 collations (MariaDB 11.5+'s default),
 *   2 weights each: '中文字' in CHAR(3) weighs FB40CE2DFB40 (of FB40CE2DFB40E587FB40DB57), so every value
 *   starting with '中' and another Han character collides;
 * - accents under `_as_` collations (the level-2 weights are cut): uca1400_as_cs 'éèe' = 'éée'.
 *
 * Why not fixed yet: a fix that weighs a value whose trimmed weights outgrow the padded ones whole
 * (`IF(LENGTH(whole) > LENGTH(padded), CONCAT('+', HEX(whole)), HEX(padded))`) was tried and taken out
 * (reverted on branch misc) because (1) it changes the stored identity of every such value, so for the
 * tombstone retention after an upgrade, tombstones and claims recorded under the padded form would not
 * be found (a late older write of a deleted key comes back) unless every lookup (findTombstonesStatement,
 * newestTombstoneStatement, deleteTombstonesStatement, the claims lookup) also tries the old padded form,
 * as legacyKeyHash (db/key-identity.ts) does for the earlier change; and (2) binding the `?` once through
 * a derived table made a 1000-key tombstone lookup ~4x slower (reviewer: 1.03 s -> 4.02 s for 10
 * statements; binding the value three times: 2.08 s).
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';

describeWithServers('key identity under a collation with expansions', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it("a tombstone of 'kßz' does not hold back the different key 'kss' (utf8mb4_unicode_ci, VARCHAR(3))", async () => {
    const ezones = ['a', 'b'];
    s = await scenario('expansion-identity', {}, { ezones });
    for (const ez of ezones) await s.db[ez]!.query('CREATE TABLE k (id VARCHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci PRIMARY KEY, v INT NOT NULL, updated_at DATETIME(6) NOT NULL)');
    // The server holds them as two keys.
    await s.db.a!.query("INSERT INTO k VALUES ('kßz', 0, '2020-01-01'), ('kss', 0, '2020-01-01')");
    await s.db.a!.query('DELETE FROM k');
    daemons.push(...(await startDaemons(s, ezones)));
    await s.db.a!.query("INSERT INTO k VALUES ('prm', 0, '2020-01-01')");
    await converge(s, 'k', ezones, { rows: 1 });
    await stopDaemons(daemons);

    await s.db.a!.query("INSERT INTO k VALUES ('kßz', 1, '2030-01-01 00:00:02')");
    await s.db.a!.query("DELETE FROM k WHERE id = 'kßz'");
    await s.db.b!.query("INSERT INTO k VALUES ('kss', 2, '2030-01-01 00:00:01')");
    daemons.push(...(await startDaemons(s, ezones)));
    await converge(s, 'k', ezones, { rows: 2, timeoutMs: 30_000 });
    for (const ez of ezones) {
      const [rows] = await s.db[ez]!.query<mysql.RowDataPacket[]>('SELECT id FROM k ORDER BY id');
      expect(rows.map((r) => String(r.id)).sort(), ez).toEqual(['kss', 'prm']);
    }
  });
});
