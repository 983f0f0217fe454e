/**
 * Issue 13, TRUNCATE TABLE against real servers, three ezones: a truncate in a deletes in b and c
 * every row not newer than it, with a table-wide tombstone everywhere, so an older concurrent update
 * from b or c resurrects no truncated row (in a, nor in the third ezone, whatever the order it hears
 * the truncate and the update in), a newer one survives everywhere, and a's own later inserts
 * replicate. A table without a version column, or with a counter, loses every row. Each applied
 * truncate is recorded.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rowsOf(conn: mysql.Connection, table: string): Promise<unknown[][]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT id, v FROM ${table} ORDER BY id`);
  return rows.map((r) => [r.id, r.v]);
}

describeWithServers('TRUNCATE TABLE (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('deletes in b and c every row not newer than a truncate in a; an older concurrent update resurrects nothing, a newer one survives everywhere', async () => {
    s = await scenario('truncate', {}, { ezones: ['a', 'b', 'c'] });
    const all = ['a', 'b', 'c'];
    for (const ez of all) {
      await s.db[ez]!.query('CREATE TABLE tt (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
      await s.db[ez]!.query('CREATE TABLE plain (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)'); // no version column
      await s.db[ez]!.query('CREATE TABLE ctr (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at BIGINT NOT NULL)'); // a counter
      await s.db[ez]!.query('CREATE TABLE other (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    }
    // Resume points first (a first daemon starts capture at the binlog's end), then seed rows.
    daemons.push(...(await startDaemons(s, all)));
    await s.db.a!.query("INSERT INTO tt (id, v) VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four')");
    await s.db.a!.query("INSERT INTO plain VALUES (1, 'p1'), (2, 'p2')");
    await s.db.a!.query("INSERT INTO ctr VALUES (1, 'c1', 7), (2, 'c2', 7)");
    await s.db.a!.query("INSERT INTO other (id, v) VALUES (1, 'kept')");
    await converge(s, 'tt', all, { rows: 4 });
    await converge(s, 'plain', all, { rows: 2 });
    await converge(s, 'ctr', all, { rows: 2 });
    await converge(s, 'other', all, { rows: 1 });

    // Concurrent: both ezones write while the daemons are down, whatever the timing of the streams.
    await stopDaemons(daemons);
    await s.db.b!.query("UPDATE tt SET v = 'older-b' WHERE id = 1"); // before the truncate
    await s.db.c!.query("UPDATE tt SET v = 'older-c' WHERE id = 3");
    await s.db.b!.query("INSERT INTO plain VALUES (3, 'p3-b')"); // an unprotected table: no version to compare
    await sleep(1100); // the truncate's version may be the end of its second (capture reads it late)
    await s.db.a!.query('TRUNCATE TABLE tt');
    await s.db.a!.query(`TRUNCATE ${s.schema}.plain`);
    await s.db.a!.query('/* a comment */ TRUNCATE TABLE `ctr`');
    await sleep(1100);
    await s.db.b!.query("UPDATE tt SET v = 'newer-b' WHERE id = 2"); // after the truncate
    await s.db.c!.query("UPDATE tt SET v = 'newer-c' WHERE id = 4");
    await s.db.a!.query("INSERT INTO tt (id, v) VALUES (9, 'after-a')"); // the origin's own, after it
    daemons.push(...(await startDaemons(s, all)));

    await converge(s, 'tt', all, { rows: 3 });
    expect(await rowsOf(s.db.a!, 'tt')).toEqual([
      [2, 'newer-b'],
      [4, 'newer-c'],
      [9, 'after-a'],
    ]);
    await converge(s, 'ctr', all, { rows: 0 });
    // plain: b's insert before the truncate arrived in a after it (no version: applied there), and the
    // truncate removed it in b — the documented limit of a table without a version column.
    await converge(s, 'other', all, { rows: 1 });
    await eventually('plain truncated in b', async () => (await rowsOf(s!.db.b!, 'plain')).length === 0);
    expect(await rowsOf(s.db.a!, 'plain')).toEqual([[3, 'p3-b']]);

    // Recorded: b and c applied three truncates; a held the older updates back with the truncate's tombstone.
    const reasons = async (ez: string) => (await conflictsIn(s!, ez)).map((c) => `${c.table_name} ${c.key_json} ${c.reason} ${c.decision}`).sort();
    await eventually('conflicts recorded', async () => (await reasons('a')).length >= 4);
    for (const ez of ['b', 'c']) expect((await reasons(ez)).filter((r) => r.includes('truncate'))).toEqual(['ctr {} truncate applied', 'plain {} truncate applied', 'tt {} truncate applied']);
    expect(await reasons('a')).toEqual(['tt {"id":1} tombstone-newer skipped', 'tt {"id":2} update-missing applied', 'tt {"id":3} tombstone-newer skipped', 'tt {"id":4} update-missing applied']);
    // The table-wide tombstones: a's own (capture), and the one b applied, for the versioned table only.
    const [localMarks] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT table_name, origin FROM drc_meta.truncates WHERE schema_name = ?', [s.schema]);
    expect(localMarks.map((r) => [r.table_name, r.origin])).toEqual([['tt', 'a']]);
    for (const ez of ['b', 'c']) {
      const [appliedMarks] = await s.db[ez]!.query<mysql.RowDataPacket[]>('SELECT table_name, origin FROM drc_meta.applied_truncates WHERE schema_name = ?', [s.schema]);
      expect(appliedMarks.map((r) => [r.table_name, r.origin])).toEqual([['tt', 'a']]);
    }

    // The streams go on: rows written after the truncate, in both directions.
    await s.db.b!.query("INSERT INTO tt (id, v) VALUES (10, 'later-b')");
    await s.db.a!.query("INSERT INTO plain VALUES (4, 'p4')");
    await converge(s, 'tt', all, { rows: 4 });
    await eventually('plain row 4 in b', async () => (await rowsOf(s!.db.b!, 'plain')).some((r) => r[0] === 4));
  });

  it("truncates a referenced parent as the origin did, with foreign-key checks off: its children stay, in every ezone", async () => {
    s = await scenario('truncate-fk', {}, { ezones: ['a', 'b'] });
    const both = ['a', 'b'];
    const v = 'updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
    for (const ez of both) {
      await s.db[ez]!.query(`CREATE TABLE fp (id INT PRIMARY KEY, ${v})`);
      await s.db[ez]!.query(`CREATE TABLE fc (id INT PRIMARY KEY, pid INT, ${v}, CONSTRAINT fk_fc FOREIGN KEY (pid) REFERENCES fp (id) ON DELETE CASCADE)`);
      await s.db[ez]!.query(`CREATE TABLE fr (id INT PRIMARY KEY, pid INT, ${v}, CONSTRAINT fk_fr FOREIGN KEY (pid) REFERENCES fp (id) ON DELETE RESTRICT)`);
    }
    daemons.push(...(await startDaemons(s, both)));
    await s.db.a!.query('INSERT INTO fp (id) VALUES (1), (2)');
    await s.db.a!.query('INSERT INTO fc (id, pid) VALUES (10, 1), (11, 2)');
    await s.db.a!.query('INSERT INTO fr (id, pid) VALUES (20, 1)');
    await converge(s, 'fc', both, { rows: 2 });
    await converge(s, 'fr', both, { rows: 1 });
    // InnoDB truncates a referenced table only with checks off, and then leaves its children alone.
    await s.db.a!.query('SET SESSION foreign_key_checks = 0');
    await s.db.a!.query('TRUNCATE TABLE fp');
    await s.db.a!.query('SET SESSION foreign_key_checks = 1');
    await converge(s, 'fp', both, { rows: 0 });
    await s.db.a!.query('INSERT INTO fp (id) VALUES (3)'); // the stream goes on
    await converge(s, 'fp', both, { rows: 1 });
    for (const ez of both) {
      expect(await rowsOfIds(s.db[ez]!, 'fc'), `fc in ${ez}`).toEqual([10, 11]);
      expect(await rowsOfIds(s.db[ez]!, 'fr'), `fr in ${ez}`).toEqual([20]);
    }
  });
});

async function rowsOfIds(conn: mysql.Connection, table: string): Promise<number[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT id FROM ${table} ORDER BY id`);
  return rows.map((r) => Number(r.id));
}
