/**
 * Issue 12, tombstones follow the server's key identity (db/key-identity.ts): a delete's tombstone
 * blocks an older write of the same key however it is spelled ('Alice'/'alice' under a `_ci`
 * collation, 'é'/'e' accent-insensitive, 'x'/'x ' under PAD SPACE, latin1 text carried as bytes), and
 * never one of another key the server holds apart (DOUBLEs equal at float32 precision, 'y'/'y ' under
 * NO PAD, 'A'/'a' under a binary collation). Every scenario writes concurrently (daemons down) and
 * must converge, byte for byte, in both ezones.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/wiring.js';
import { describeWithServers } from '../support/env.js';
import { conflictsIn, startDaemons, stopDaemons } from '../support/replication.js';
import { eventually, scenario, type Scenario } from '../support/scenario.js';

/** The table's rows as HEX() of every column, ordered: byte-exact comparable text. */
async function hexRows(conn: mysql.Connection, table: string): Promise<string> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT HEX(id) AS id, who FROM ${table} ORDER BY HEX(id)`);
  return JSON.stringify(rows);
}

/** Wait until `table` holds the same rows in a and b, `count` of them; returns them. */
async function converged(s: Scenario, table: string, count: number): Promise<{ id: string; who: string }[]> {
  let a = '';
  let b = '';
  await eventually(
    `${table} identical in a and b`,
    async () => {
      a = await hexRows(s.db.a!, table);
      b = await hexRows(s.db.b!, table);
      return a === b && (JSON.parse(a) as unknown[]).length === count;
    },
    60_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\na: ${a}\nb: ${b}`);
  });
  return JSON.parse(a) as { id: string; who: string }[];
}

const hex = (text: string, encoding: BufferEncoding = 'utf8') => Buffer.from(text, encoding).toString('hex').toUpperCase();

describeWithServers('tombstones follow the server key identity (issue 12)', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  it('a delete in a blocks an older write of the same key spelled otherwise in b: the row stays deleted in both ezones', async () => {
    s = await scenario('tomb-same');
    const cases = [
      { table: 'ci', column: 'VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci', stored: 'Alice', respelled: 'alice' },
      { table: 'ai', column: 'VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci', stored: 'é', respelled: 'e' },
      { table: 'pad', column: 'VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', stored: 'x', respelled: 'x ' }, // PAD SPACE
      { table: 'padchar', column: 'CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci', stored: 'q', respelled: 'Q' },
      { table: 'lat', column: 'VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci', stored: 'Ärger', respelled: 'ärger' }, // carried as bytes
    ];
    for (const ez of ['a', 'b']) {
      for (const c of cases) await s.db[ez]!.query(`CREATE TABLE ${c.table} (id ${c.column} PRIMARY KEY, who VARCHAR(8) NOT NULL, updated_at DATETIME(6) NOT NULL)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    for (const c of cases) await s.db.a!.query(`INSERT INTO ${c.table} VALUES (?, 'seed', '2020-01-01')`, [c.stored]);
    for (const c of cases) await converged(s, c.table, 1);
    await stopDaemons(daemons);

    // b respells the key with an old version (2021); a deletes the row now: the delete is newer.
    for (const c of cases) {
      await s.db.b!.query(`UPDATE ${c.table} SET id = ?, who = 'b', updated_at = '2021-01-01' WHERE id = ?`, [c.respelled, c.stored]);
      const [[row]] = await s.db.b!.query<mysql.RowDataPacket[]>(`SELECT HEX(id) AS h FROM ${c.table}`);
      expect(row?.h, `${c.table}: b stores the new spelling`).not.toBe(hex(c.stored, c.table === 'lat' ? 'latin1' : 'utf8'));
      await s.db.a!.query(`DELETE FROM ${c.table} WHERE id = ?`, [c.stored]);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    for (const c of cases) expect(await converged(s, c.table, 0), c.table).toEqual([]);

    // In a, b's older write met a's tombstone under its other spelling.
    await eventually('conflicts recorded in a', async () => (await conflictsIn(s!, 'a')).filter((r) => r.reason === 'tombstone-newer').length >= cases.length);
    const newer = (await conflictsIn(s, 'a')).filter((r) => r.reason === 'tombstone-newer');
    expect(newer.map((r) => `${r.table_name} ${r.decision}`).sort()).toEqual(cases.map((c) => `${c.table} skipped`).sort());

    // The streams go on, and a key deleted long ago takes a newer write again.
    for (const c of cases) await s.db.b!.query(`INSERT INTO ${c.table} VALUES (?, 'b2', '2031-01-01')`, [c.respelled]);
    for (const c of cases) expect((await converged(s, c.table, 1))[0]?.who, c.table).toBe('b2');
  });

  it('keys the server holds apart keep their own tombstones: DOUBLEs equal at float32, NO PAD trailing spaces, case under a binary collation', async () => {
    s = await scenario('tomb-apart');
    const cases = [
      { table: 'dbl', column: 'DOUBLE', deleted: 20000000.25, other: 20000000.75 },
      { table: 'nopad', column: 'VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin', deleted: 'y', other: 'y ' },
      { table: 'cs', column: 'VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', deleted: 'A', other: 'a' },
    ];
    for (const ez of ['a', 'b']) {
      for (const c of cases) await s.db[ez]!.query(`CREATE TABLE ${c.table} (id ${c.column} PRIMARY KEY, who VARCHAR(8) NOT NULL, updated_at DATETIME(6) NOT NULL)`);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    for (const c of cases) await s.db.a!.query(`INSERT INTO ${c.table} VALUES (?, 'seed', '2020-01-01')`, [c.deleted]);
    for (const c of cases) await converged(s, c.table, 1);
    await stopDaemons(daemons);

    // a deletes one key now; b, concurrently, writes the other key (new there) with an older version,
    // and updates the deleted key with an older version: only that update must lose to the tombstone.
    for (const c of cases) {
      await s.db.a!.query(`DELETE FROM ${c.table} WHERE id = ?`, [c.deleted]);
      await s.db.b!.query(`INSERT INTO ${c.table} VALUES (?, 'b', '2021-01-01')`, [c.other]);
      await s.db.b!.query(`UPDATE ${c.table} SET who = 'b', updated_at = '2021-01-01' WHERE id = ?`, [c.deleted]);
    }
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    for (const c of cases) {
      const rows = await converged(s, c.table, 1);
      const [[expected]] = await s.db.b!.query<mysql.RowDataPacket[]>('SELECT HEX(?) AS h', [c.other]);
      expect(rows, c.table).toEqual([{ id: c.table === 'dbl' ? expect.any(String) : expected?.h, who: 'b' }]);
    }
    const [[d]] = await s.db.a!.query<mysql.RowDataPacket[]>('SELECT id FROM dbl');
    expect(Number(d?.id)).toBe(20000000.75);
    const newer = (await conflictsIn(s, 'a')).filter((r) => r.reason === 'tombstone-newer');
    expect(newer.map((r) => r.table_name).sort()).toEqual(cases.map((c) => c.table).sort()); // the update of the deleted key, once per table
  });

  it('stores one tombstone per server identity, found by every spelling, in the statement that records it', async () => {
    s = await scenario('tomb-sql');
    const db = s.db.a!;
    daemons.push(...(await startDaemons(s, ['a']))); // creates drc_meta
    await db.query('CREATE TABLE t (id VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, updated_at DATETIME(6) NOT NULL)');
    await db.query("INSERT INTO t VALUES ('Alice', '2020-01-01'), ('Bob  ', '2020-01-01')");
    await db.query("DELETE FROM t WHERE id IN ('Alice', 'Bob')");
    const [stones] = await (async () => {
      let rows: mysql.RowDataPacket[] = [];
      await eventually('capture recorded both tombstones', async () => {
        [rows] = await db.query<mysql.RowDataPacket[]>('SELECT key_json, HEX(key_hash) AS h FROM drc_meta.tombstones WHERE schema_name = ? ORDER BY key_json', [s!.schema]);
        return rows.length === 2;
      });
      return [rows];
    })();
    expect(stones.map((r) => r.key_json)).toEqual(['[["id","Alice"]]', '[["id","Bob  "]]']);
    // The same identities, computed by the lookup for other spellings of the keys.
    const { keyIdentityOf, readKeyIdentities, tableKey } = await import('../../src/db/key-identity.js');
    const { findTombstones, findTombstonesStatement } = await import('../../src/db/tombstones.js');
    const identity = (await readKeyIdentities(db, [{ schema: s.schema, table: 't' }])).get(tableKey({ schema: s.schema, table: 't' }));
    expect(identity).toBeDefined();
    const found = await findTombstones(db, s.schema, 't', [{ id: 'ALICE' }, { id: 'bob' }, { id: 'carol' }], identity ?? keyIdentityOf(undefined));
    expect(found.map((f) => f?.origin)).toEqual(['a', 'a', undefined]);
    // The lookup is an index lookup per key in both tables, never a scan of the tombstones.
    const lookup = findTombstonesStatement(s.schema, 't', [{ id: 'ALICE' }, { id: 'bob' }], identity ?? keyIdentityOf(undefined));
    const [plan] = await db.query<mysql.RowDataPacket[]>(`EXPLAIN ${lookup.sql}`, lookup.params);
    const tombstoneAccess = plan.filter((r) => r.table === 't');
    expect(tombstoneAccess).toHaveLength(2);
    for (const r of tombstoneAccess) expect([String(r.type), String(r.key)]).toEqual([expect.stringMatching(/^(eq_ref|ref)$/), 'PRIMARY']);
  });
});
