/**
 * Key identity under a collation with expansions, end to end: 'kßz' (4 weights: k s s z under
 * utf8mb4_unicode_ci) in a VARCHAR(3) was identified as 'kss' (`WEIGHT_STRING(v AS CHAR(n))` cuts the
 * weights to n), so a tombstone of 'kßz' held back an older insert of 'kss' in the ezone that deleted
 * 'kßz', and the ezones diverged (a skipped 'kss' as `tombstone-newer`, b kept it). Such a value is now
 * weighed whole (db/collation-weight.ts); test/integration/collation-weights.test.ts checks identities
 * against the server's comparisons for more collations (Han characters under uca1400, accents under
 * `_as_`).
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

  /**
   * a writes `deleted` (newer) and deletes it while its daemon is stopped; b writes `other` (older).
   * `other` survives everywhere when the server holds the two apart (a's tombstone is not its), and
   * nothing does when the server holds them equal (a's delete is newer).
   */
  const deleteMeetsOlderWrite = async (name: string, column: string, deleted: string, other: string, expected: string[]) => {
    const ezones = ['a', 'b'];
    s = await scenario(name, {}, { ezones });
    for (const ez of ezones) await s.db[ez]!.query(`CREATE TABLE k (id ${column} PRIMARY KEY, v INT NOT NULL, updated_at DATETIME(6) NOT NULL)`);
    daemons.push(...(await startDaemons(s, ezones)));
    await s.db.a!.query("INSERT INTO k VALUES ('prm', 0, '2020-01-01')");
    await converge(s, 'k', ezones, { rows: 1 });
    await stopDaemons(daemons);

    await s.db.a!.query("INSERT INTO k VALUES (?, 1, '2030-01-01 00:00:02')", [deleted]);
    await s.db.a!.query('DELETE FROM k WHERE id = ?', [deleted]);
    await s.db.b!.query("INSERT INTO k VALUES (?, 2, '2030-01-01 00:00:01')", [other]);
    daemons.push(...(await startDaemons(s, ezones)));
    await converge(s, 'k', ezones, { rows: expected.length, timeoutMs: 30_000 });
    for (const ez of ezones) {
      const [rows] = await s.db[ez]!.query<mysql.RowDataPacket[]>('SELECT id FROM k ORDER BY id');
      expect(rows.map((r) => String(r.id)).sort(), ez).toEqual(expected);
    }
  };

  it("a tombstone of 'kßz' does not hold back the different key 'kss' (utf8mb4_unicode_ci, VARCHAR(3))", async () => {
    await deleteMeetsOlderWrite('expansion-identity', 'VARCHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci', 'kßz', 'kss', ['kss', 'prm']);
  });

  it("a tombstone of 'müller' holds back an older write of the same key 'muller' (utf8mb4_uca1400_ai_cs, VARCHAR(6): the umlaut weighs as a space at level 3)", async () => {
    await deleteMeetsOlderWrite('aics-identity', 'VARCHAR(6) CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_cs', 'müller', 'muller', ['prm']);
  });
});
