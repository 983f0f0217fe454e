/**
 * Issue 13, TRUNCATE TABLE against real servers: a truncate in a deletes in b every row not newer than
 * it, with a table-wide tombstone in both ezones, so an older concurrent update from b does not
 * resurrect a truncated row (in a, nor in b), a newer one survives in both, and a's own later inserts
 * replicate. A table without a version column loses every row. Each applied truncate is recorded.
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

  it('deletes in b every row not newer than a truncate in a; an older concurrent update resurrects nothing, a newer one survives in both', async () => {
    s = await scenario('truncate', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      await s.db[ez]!.query('CREATE TABLE tt (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
      await s.db[ez]!.query('CREATE TABLE plain (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)'); // no version column
      await s.db[ez]!.query('CREATE TABLE other (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    }
    // Resume points first (a first daemon starts capture at the binlog's end), then seed rows.
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query("INSERT INTO tt (id, v) VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four')");
    await s.db.a!.query("INSERT INTO plain VALUES (1, 'p1'), (2, 'p2')");
    await s.db.a!.query("INSERT INTO other (id, v) VALUES (1, 'kept')");
    await converge(s, 'tt', ['a', 'b'], { rows: 4 });
    await converge(s, 'plain', ['a', 'b'], { rows: 2 });
    await converge(s, 'other', ['a', 'b'], { rows: 1 });

    // Concurrent: both ezones write while the daemons are down, whatever the timing of the streams.
    await stopDaemons(daemons);
    await s.db.b!.query("UPDATE tt SET v = 'older-b' WHERE id = 1"); // before the truncate
    await s.db.b!.query("INSERT INTO plain VALUES (3, 'p3-b')"); // an unprotected table: no version to compare
    await sleep(1100); // the truncate's version may be the end of its second (capture reads it late)
    await s.db.a!.query('TRUNCATE TABLE tt');
    await s.db.a!.query(`TRUNCATE ${s.schema}.plain`);
    await sleep(1100);
    await s.db.b!.query("UPDATE tt SET v = 'newer-b' WHERE id = 2"); // after the truncate
    await s.db.a!.query("INSERT INTO tt (id, v) VALUES (9, 'after-a')"); // the origin's own, after it
    daemons.push(...(await startDaemons(s, ['a', 'b'])));

    await converge(s, 'tt', ['a', 'b'], { rows: 2 });
    expect(await rowsOf(s.db.a!, 'tt')).toEqual([
      [2, 'newer-b'],
      [9, 'after-a'],
    ]);
    expect(await rowsOf(s.db.b!, 'tt')).toEqual(await rowsOf(s.db.a!, 'tt'));
    // plain: b's insert before the truncate arrived in a after it (no version: applied there), and the
    // truncate removed it in b — the documented limit of a table without a version column.
    await converge(s, 'other', ['a', 'b'], { rows: 1 });
    await eventually('plain truncated in b', async () => (await rowsOf(s!.db.b!, 'plain')).length === 0);
    expect(await rowsOf(s.db.a!, 'plain')).toEqual([[3, 'p3-b']]);

    // Recorded: b applied two truncates; a held b's older update back with the truncate's tombstone.
    const reasons = async (ez: string) => (await conflictsIn(s!, ez)).map((c) => `${c.table_name} ${c.key_json} ${c.reason} ${c.decision}`).sort();
    await eventually('conflicts recorded', async () => (await reasons('b')).length >= 2 && (await reasons('a')).length >= 2);
    expect(await reasons('b')).toEqual(['plain {} truncate applied', 'tt {} truncate applied']);
    expect(await reasons('a')).toEqual(['tt {"id":1} tombstone-newer skipped', 'tt {"id":2} update-missing applied']);
    // The table-wide tombstones: a's own (capture), and the one b applied, for the versioned table only.
    const [localMarks] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT table_name, origin FROM drc_meta.truncates WHERE schema_name = ?', [s.schema]);
    const [appliedMarks] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT table_name, origin FROM drc_meta.applied_truncates WHERE schema_name = ?', [s.schema]);
    expect(localMarks.map((r) => [r.table_name, r.origin])).toEqual([['tt', 'a']]);
    expect(appliedMarks.map((r) => [r.table_name, r.origin])).toEqual([['tt', 'a']]);

    // The streams go on: rows written after the truncate, in both directions.
    await s.db.b!.query("INSERT INTO tt (id, v) VALUES (10, 'later-b')");
    await s.db.a!.query("INSERT INTO plain VALUES (4, 'p4')");
    await converge(s, 'tt', ['a', 'b'], { rows: 3 });
    await eventually('plain row 4 in b', async () => (await rowsOf(s!.db.b!, 'plain')).some((r) => r[0] === 4));
  });
});
