/**
 * Issue 13, tombstones and versions, against real servers:
 * - a tombstone never holds back a later change of its own origin: a re-insert with a fresh counter
 *   after the origin's own delete (BIGINT version), a delete + insert of one key in one transaction,
 *   and `UPDATE … SET id = id + 1` over several rows (shipped as delete + insert per row);
 * - a delete's version is as precise as an update's: b updates a row, a deletes it 300 ms later in the
 *   same second → the delete wins in both ezones; a deletes, b updates 300 ms later → the update wins.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, converge, startDaemons, stopDaemons } from '../support/replication.js';
import { connectEzone, scenario, type Scenario } from '../support/scenario.js';
import { findTombstones, recordTombstonesStatement, type Tombstone } from '../../src/db/tombstones.js';
import { keyIdentityOf } from '../../src/db/key-identity.js';
import { ensureMetaSchema } from '../../src/db/meta-schema.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ids(conn: mysql.Connection, table: string): Promise<unknown[][]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT id, v FROM ${table} ORDER BY id`);
  return rows.map((r) => [r.id, r.v]);
}

describeWithServers('tombstones and versions (issue 13)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  const extra: mysql.Connection[] = [];
  afterEach(async () => {
    await Promise.all(extra.splice(0).map((c) => c.end().catch(() => undefined)));
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it("never holds a change back with its own origin's tombstone: counter re-inserts, delete + insert in one transaction, SET id = id + 1", async () => {
    s = await scenario('tomb-origin', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      // A counter as the version column (the default name, a BIGINT): it restarts on re-insert.
      await s.db[ez]!.query('CREATE TABLE cnt (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at BIGINT NOT NULL)');
      await s.db[ez]!.query('CREATE TABLE shift (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
      await s.db[ez]!.query('CREATE TABLE cshift (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at BIGINT NOT NULL)');
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    const a = s.db.a!;
    await a.query("INSERT INTO cnt VALUES (1, 'one', 5), (2, 'two', 5), (3, 'three', 5)");
    await a.query("INSERT INTO shift (id, v) VALUES (1, 'r1'), (2, 'r2'), (3, 'r3'), (4, 'r4')");
    await a.query("INSERT INTO cshift VALUES (1, 'c1', 7), (2, 'c2', 7), (3, 'c3', 7)");
    await converge(s, 'cnt', ['a', 'b'], { rows: 3 });
    await converge(s, 'shift', ['a', 'b'], { rows: 4 });
    await converge(s, 'cshift', ['a', 'b'], { rows: 3 });

    // Delete at version 5, re-insert with a fresh counter (1): in separate transactions, and in one.
    await a.query('DELETE FROM cnt WHERE id = 1');
    await a.query("INSERT INTO cnt VALUES (1, 'again', 1)");
    await a.query("BEGIN; DELETE FROM cnt WHERE id = 2; INSERT INTO cnt VALUES (2, 'same-tx', 1); COMMIT");
    // Primary-key shifts over several rows: a temporal version (each delete is newer than the rows it
    // moves) and a counter left as it is (each insert has the version of the delete it follows).
    await a.query('UPDATE shift SET id = id + 1 ORDER BY id DESC');
    await a.query('UPDATE cshift SET id = id + 1 ORDER BY id DESC');

    expect(JSON.parse(await converge(s, 'cnt', ['a', 'b'], { rows: 3 })).map((r: { id: number; v: string }) => [r.id, r.v])).toEqual([
      [1, 'again'],
      [2, 'same-tx'],
      [3, 'three'],
    ]);
    await converge(s, 'shift', ['a', 'b'], { rows: 4 });
    expect(await ids(s.db.b!, 'shift')).toEqual([
      [2, 'r1'],
      [3, 'r2'],
      [4, 'r3'],
      [5, 'r4'],
    ]);
    await converge(s, 'cshift', ['a', 'b'], { rows: 3 });
    expect(await ids(s.db.b!, 'cshift')).toEqual([
      [2, 'c1'],
      [3, 'c2'],
      [4, 'c3'],
    ]);
    // Single writer: nothing here is a conflict (before, b dropped them as 'tombstone-newer').
    expect(await conflictsIn(s, 'b')).toEqual([]);
    expect(await conflictsIn(s, 'a')).toEqual([]);
  });

  it('a delete + re-insert older than its delete, against a concurrent remote update between the two, ends the same in both ezones', async () => {
    s = await scenario('tomb-pair', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) await s.db[ez]!.query('CREATE TABLE pair (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at DATETIME(6) NOT NULL)');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query("INSERT INTO pair VALUES (1, 'base', '2020-01-01'), (2, 'base', '2020-01-01')");
    await converge(s, 'pair', ['a', 'b'], { rows: 2 });
    await stopDaemons(daemons);
    // Versions: a's re-insert (now - 2 s) < b's update (now - 1 s) < a's delete (its receipt time, now).
    // In a, b's update beats a's re-inserted row; so in b, a's delete must not beat b's row either.
    await s.db.a!.query("BEGIN; DELETE FROM pair WHERE id = 1; INSERT INTO pair VALUES (1, 'a-again', UTC_TIMESTAMP(6) - INTERVAL 2 SECOND); COMMIT");
    await s.db.a!.query('DELETE FROM pair WHERE id = 2');
    await s.db.a!.query("INSERT INTO pair VALUES (2, 'a-again', UTC_TIMESTAMP(6) - INTERVAL 2 SECOND)"); // another transaction, same batch
    await s.db.b!.query("UPDATE pair SET v = 'b', updated_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await converge(s, 'pair', ['a', 'b'], { rows: 2 });
    expect(await ids(s.db.a!, 'pair')).toEqual([
      [1, 'b'],
      [2, 'b'],
    ]);
  });

  it('a delete 300 ms after an update in the same second wins in both ezones; an update 300 ms after a delete wins too', async () => {
    s = await scenario('tomb-precise', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      await s.db[ez]!.query('CREATE TABLE lww (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    await s.db.a!.query("INSERT INTO lww (id, v) VALUES (1, 'base'), (2, 'base'), (3, 'stays')");
    await converge(s, 'lww', ['a', 'b'], { rows: 3 });

    // Neither ezone may see the other's write before making its own (else the delete's before-image
    // already carries the update's version): each holds the row it will write locked, so the peer's
    // applier waits for it, while capture (which reads the binlog) runs on.
    const [a1, a2, b1, b2] = await Promise.all([connectEzone('a', s.schema), connectEzone('a', s.schema), connectEzone('b', s.schema), connectEzone('b', s.schema)]);
    extra.push(a1!, a2!, b1!, b2!);
    // Start just after a second begins: both writes fall in that second.
    while (Date.now() % 1000 > 40) await sleep(5);
    const second = Math.floor(Date.now() / 1000) * 1000;
    const at = async (ms: number) => {
      const wait = second + ms - Date.now();
      if (wait > 0) await sleep(wait);
    };
    await a1!.query('BEGIN');
    await a1!.query('SELECT * FROM lww WHERE id = 1 FOR UPDATE');
    await b1!.query('BEGIN');
    await b1!.query('SELECT * FROM lww WHERE id = 2 FOR UPDATE');
    await at(200);
    await b2!.query("UPDATE lww SET v = 'b-early' WHERE id = 1"); // row 1: b updates first …
    await a2!.query('DELETE FROM lww WHERE id = 2'); // row 2: a deletes first …
    await at(500);
    await a1!.query('DELETE FROM lww WHERE id = 1'); // … a deletes 300 ms later
    await b1!.query("UPDATE lww SET v = 'b-late' WHERE id = 2"); // … b updates 300 ms later
    await Promise.all([a1!.query('COMMIT'), b1!.query('COMMIT')]);
    const finished = Date.now();
    // Both writes of each row fell in one second (else the test proves nothing about precision).
    expect(finished - second).toBeLessThan(1000);

    const rows = JSON.parse(await converge(s, 'lww', ['a', 'b'], { rows: 2 })) as { id: number; v: string }[];
    expect(rows.map((r) => [r.id, r.v])).toEqual([
      [2, 'b-late'],
      [3, 'stays'],
    ]);
    // Each was a real conflict, decided the same way in both ezones.
    const reasons = async (ez: string) => (await conflictsIn(s!, ez)).map((c) => `${c.key_json} ${c.reason} ${c.decision}`).sort();
    expect(await reasons('a')).toEqual(['{"id":1} tombstone-newer skipped', '{"id":2} update-missing applied']);
    expect(await reasons('b')).toEqual(['{"id":1} delete-diverged applied', '{"id":2} delete-diverged skipped']);
  });

  it("a cascade victim's tombstone counts, for the row, from the row's own version; the row version of two tombstones of one key is the larger, a plain delete's its own", async () => {
    s = await scenario('tomb-row-version', {}, { ezones: ['a'] });
    const db = s.db.a!;
    await ensureMetaSchema(db);
    const identity = keyIdentityOf([{ name: 'id', dataType: 'int', columnType: 'int(11)' }]);
    const stone = (version: string, rowVersion?: string): Tombstone => ({ schema: s!.schema, table: 't', key: { id: 1 }, version, origin: 'b', identity, ...(rowVersion ? { rowVersion } : {}) });
    const asRow = async () => {
      const [newest] = await findTombstones(db, s!.schema, 't', [{ id: 1 }], identity);
      const [stored] = await db.query<mysql.RowDataPacket[]>("SELECT version, row_version FROM drc_meta.applied_tombstones WHERE schema_name = ? AND table_name = 't'", [s!.schema]);
      return { row: newest?.version, version: String(stored[0]?.version), rowVersion: stored[0]?.row_version === null ? null : String(stored[0]?.row_version) };
    };
    const record = async (t: Tombstone) => {
      const st = recordTombstonesStatement('applied_tombstones', [t])!;
      await db.query(st.sql, st.params);
    };
    await record(stone('10', '4')); // a cascade at 10 removed the row at 4
    expect(await asRow()).toEqual({ row: '4', version: '10', rowVersion: '4' });
    await record(stone('8')); // an older plain delete at 8: the row evidence rises to 8, the delete's stays 10
    expect(await asRow()).toEqual({ row: '8', version: '10', rowVersion: '8' });
    await record(stone('12', '6')); // a newer cascade, the row at 6: the larger row version (8) stays
    expect(await asRow()).toEqual({ row: '8', version: '12', rowVersion: '8' });
    await record(stone('15')); // a newer plain delete: its own version, for the row too
    expect(await asRow()).toEqual({ row: '15', version: '15', rowVersion: null });
    await record(stone('14', '3')); // an older cascade changes nothing
    expect(await asRow()).toEqual({ row: '15', version: '15', rowVersion: null });
    // A later key change of the key is its newest event; the newest delete (15) is kept beside it.
    await record({ ...stone('20'), movedTo: { id: 2 } });
    const [kept] = await db.query<mysql.RowDataPacket[]>("SELECT version, moved_to, delete_version, delete_origin FROM drc_meta.applied_tombstones WHERE schema_name = ? AND table_name = 't'", [s.schema]);
    expect(kept.map((r) => [String(r.version), r.moved_to, String(r.delete_version), r.delete_origin])).toEqual([['20', '{"id":2}', '15', 'b']]);
  });
});
