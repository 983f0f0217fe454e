/**
 * `drc bootstrap` of a table without a version column (issue 16; README "Adding an ezone": tables
 * without a version column): c's capture journals every change of it while the copy runs, and a
 * chunk writes only the keys nothing else changed in c since the start point. The races named there:
 * a row updated in a while its chunk is copied, a row deleted (one c held, one c lacked), a local
 * write in c — each in the window between the chunk's read from a and its write into c.
 */
import type mysql from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { bootstrap } from '../../src/admin/bootstrap.js';
import { ChunkCopyApplier } from '../../src/apply/copy-applier.js';
import { createPool, detectFlavor } from '../../src/db/connect.js';
import { ensureMetaSchema } from '../../src/db/meta-schema.js';
import { ackJournal, forgetJournal, registerJournal } from '../../src/db/bootstrap-journal.js';
import { TombstoneRecorder } from '../../src/capture/tombstone-recorder.js';
import type { CapturedPart } from '../../src/capture/assembler.js';
import { chunkRange } from '../../src/admin/bootstrap-copy.js';
import type { PlannedTable } from '../../src/admin/bootstrap-preflight.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import type { RowChange } from '../../src/model/change.js';
import { toWireRow, type Row } from '../../src/model/value.js';
import { adminConnection, describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { reconfigure } from '../support/reconfigure.js';
import { scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';
import { waitFor } from '../support/wait.js';

const count = async (conn: mysql.Connection, sql: string, params: unknown[] = []): Promise<number> => {
  const [[r]] = await conn.query<mysql.RowDataPacket[]>(sql, params);
  return Number(Object.values(r!)[0]);
};

/** Rows written as if before DRC ran: not in the binlog, so no daemon ever ships them. */
async function unlogged(conn: mysql.Connection, ...statements: string[]): Promise<void> {
  await conn.query('SET SESSION sql_log_bin = 0');
  for (const sql of statements) await conn.query(sql);
  await conn.query('SET SESSION sql_log_bin = 1');
}

describeWithServers('drc bootstrap of a table without a version column', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.db.c?.query('DELETE FROM drc_meta.bootstrap WHERE schema_name = ?', [s.schema]).catch(() => undefined);
    await s?.db.c?.query('DELETE FROM drc_meta.bootstrap_journal WHERE schema_name = ?', [s.schema]).catch(() => undefined);
    await s?.db.c?.query('DELETE FROM drc_meta.bootstrap_keys WHERE schema_name = ?', [s.schema]).catch(() => undefined);
    await s?.close();
    s = undefined;
  });

  it('a row updated or deleted in a, or written in c, while its chunk is copied keeps its newest state in c; the copy ends verified and its journal goes', async () => {
    s = await scenario('bootstrap-versionless', {}, { ezones: ['a', 'c'] });
    const schema = s.schema;
    reconfigure(s, (c) => ({ ...c, tables: { [`${schema}.u`]: { versionColumn: null } } }));
    const { a, c } = s.db as Record<string, mysql.Connection>;
    const ddl = 'CREATE TABLE u (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, n INT NOT NULL DEFAULT 0)';
    await a!.query(ddl);
    await c!.query(ddl);
    await unlogged(a!, "INSERT INTO u (id, v) SELECT seq, CONCAT('seed-', seq) FROM seq_1_to_40");
    // A re-seed: c holds 3 (deleted in a during the copy) and an older 7 (the copy replaces it).
    await unlogged(c!, "INSERT INTO u (id, v) VALUES (3, 'seed-3'), (7, 'stale')");
    daemons.push(...(await startDaemons(s, ['a', 'c'])));
    const log = testLogger();
    const raced = { first: false, second: false };
    const report = await bootstrap(
      s.config,
      {
        target: 'c',
        source: 'a',
        resume: false,
        chunkSize: 10,
        concurrency: 1,
        maxChunksPerSecond: 100,
        maxLagMs: 30_000,
        waitStreamMs: 30_000,
        recheckDelayMs: 500,
        rechecks: 3,
        // Between reading a chunk from a and writing it into c.
        beforeWrite: async (_table: string, rows: Row[]) => {
          if (!raced.first && rows.some((r) => r.id === 3)) {
            raced.first = true;
            // (a) a updates 5 (c lacks it: the stream inserts its image); (b) a deletes 3, which c holds;
            // (c) c inserts 8 itself. All land in c before the chunk, which holds the older images.
            await a!.query("UPDATE u SET v = 'updated-in-a' WHERE id = 5");
            await a!.query('DELETE FROM u WHERE id = 3');
            await c!.query("INSERT INTO u (id, v) VALUES (8, 'local-c') ON DUPLICATE KEY UPDATE v = 'local-c'");
            await waitFor(() => count(c!, "SELECT COUNT(*) FROM u WHERE id = 5 AND v = 'updated-in-a'"), { what: "c's stream to apply a's update of 5", until: (n) => n === 1 });
            await waitFor(() => count(c!, 'SELECT COUNT(*) FROM u WHERE id = 3'), { what: "c's stream to apply a's delete of 3", until: (n) => n === 0 });
          }
          if (!raced.second && rows.some((r) => r.id === 13)) {
            raced.second = true;
            // (b') a deletes 13, which c lacks: nothing changes in c's binlog, only a delete-missing is on record.
            await a!.query('DELETE FROM u WHERE id = 13');
            await waitFor(() => count(c!, "SELECT COUNT(*) FROM drc_meta.conflicts WHERE schema_name = ? AND table_name = 'u' AND reason = 'delete-missing'", [schema]), { what: "c's stream to meet a's delete of 13", until: (n) => n === 1 });
          }
        },
      },
      log,
      async (pool) => new ChunkCopyApplier({ ezone: 'c', pool, flavor: await detectFlavor(pool), config: s!.config, log }),
    );
    expect(raced).toEqual({ first: true, second: true });
    // (d) verified: every column compared between a and c.
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    // 3, 5 and 8 journaled in c before their chunk landed: skipped; 13, copied after its delete, deleted again.
    expect(report.tables).toMatchObject([{ table: `${schema}.u`, rows: 40, skipped: 3, overtaken: 1 }]);
    const [rows] = await c!.query<mysql.RowDataPacket[]>('SELECT id, v FROM u WHERE id IN (3, 5, 7, 8, 13) ORDER BY id');
    expect(rows).toEqual([
      { id: 5, v: 'updated-in-a' },
      { id: 7, v: 'seed-7' },
      { id: 8, v: 'local-c' },
    ]);
    // c's local write reached a (last arrival wins over a's seed row).
    await waitFor(() => count(a!, "SELECT COUNT(*) FROM u WHERE id = 8 AND v = 'local-c'"), { what: "c's write of 8 to reach a", until: (n) => n === 1 });
    await converge(s, 'u', ['a', 'c'], { rows: 38 });
    // The run ended verified: the journal of u is gone, capture no longer journals it.
    expect(await count(c!, 'SELECT COUNT(*) FROM drc_meta.bootstrap_journal WHERE schema_name = ?', [schema])).toBe(0);
    expect(await count(c!, 'SELECT COUNT(*) FROM drc_meta.bootstrap_keys WHERE schema_name = ?', [schema])).toBe(0);
    expect((await c!.query<mysql.RowDataPacket[]>("SELECT status FROM drc_meta.bootstrap WHERE schema_name = ? AND table_name = 'u'", [schema]))[0][0]?.status).toBe('verified');
  });

  it("waits, before any chunk, until a holds c's writes from before c's journal began: a local write of c made while a's daemon was down is not overwritten", async () => {
    s = await scenario('bootstrap-versionless-early', {}, { ezones: ['a', 'c'] });
    const schema = s.schema;
    reconfigure(s, (c) => ({ ...c, tables: { [`${schema}.u`]: { versionColumn: null } } }));
    const { a, c } = s.db as Record<string, mysql.Connection>;
    const ddl = 'CREATE TABLE u (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)';
    await a!.query(ddl);
    await c!.query(ddl);
    await unlogged(a!, "INSERT INTO u (id, v) SELECT seq, CONCAT('seed-', seq) FROM seq_1_to_20");
    await unlogged(c!, "INSERT INTO u (id, v) SELECT seq, CONCAT('seed-', seq) FROM seq_1_to_20");
    const [daemonA, daemonC] = await startDaemons(s, ['a', 'c']);
    daemons.push(daemonC!);
    await waitFor(() => count(a!, "SELECT COUNT(*) FROM drc_meta.lag WHERE origin = 'c' AND sent_at > UTC_TIMESTAMP(6) - INTERVAL 3 SECOND"), { what: "a to apply c's heartbeats", until: (n) => n === 1, timeoutMs: 20_000 });
    // a's daemon stops: c's write of 5 (before c journals u) does not reach a yet.
    await stopDaemons([daemonA!]);
    await c!.query("UPDATE u SET v = 'early-in-c' WHERE id = 5");
    const log = testLogger();
    let resumedA = false;
    const run = bootstrap(
      s.config,
      { target: 'c', source: 'a', resume: false, chunkSize: 10, concurrency: 1, maxChunksPerSecond: 100, maxLagMs: 60_000, waitStreamMs: 60_000, recheckDelayMs: 500, rechecks: 3 },
      log,
      async (pool) => new ChunkCopyApplier({ ezone: 'c', pool, flavor: await detectFlavor(pool), config: s!.config, log }),
    );
    // c journals u, then bootstrap waits for a: no chunk is written, c keeps its row.
    await waitFor(() => count(c!, 'SELECT COUNT(*) FROM drc_meta.bootstrap_journal WHERE schema_name = ? AND acked_from IS NOT NULL', [schema]), { what: 'c to journal u', until: (n) => n === 1, timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await count(c!, "SELECT COUNT(*) FROM u WHERE id = 5 AND v = 'early-in-c'")).toBe(1);
    expect(await count(c!, 'SELECT COUNT(*) FROM drc_meta.bootstrap WHERE schema_name = ?', [schema])).toBe(0);
    daemons.push(...(await startDaemons(s, ['a'])));
    resumedA = true;
    const report = await run;
    expect(resumedA).toBe(true);
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(await count(c!, "SELECT COUNT(*) FROM u WHERE id = 5 AND v = 'early-in-c'")).toBe(1);
    expect(await count(a!, "SELECT COUNT(*) FROM u WHERE id = 5 AND v = 'early-in-c'")).toBe(1);
  });

  it("a chunk waits for c's journal before it locks its range, then holds the range locked (REPEATABLE READ next-key locks) for a capped wait", async () => {
    s = await scenario('bootstrap-versionless-lock', {}, { ezones: ['a', 'c'] });
    const schema = s.schema;
    const c = s.db.c!;
    await c.query('CREATE TABLE u (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
    await c.query('CREATE TABLE elsewhere (id INT PRIMARY KEY)');
    await c.query("INSERT INTO u VALUES (1, 'one'), (10, 'ten')");
    await ensureMetaSchema(c);
    // c's capture (not running here) publishes its coverage by hand, unlogged.
    const cover = async (to?: string) => {
      const [[pos]] = await c.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS p');
      await unlogged(c, `REPLACE INTO drc_meta.journal_coverage (id, covered, updated_at) VALUES (1, '${to ?? String(pos!.p)}', UTC_TIMESTAMP(6))`);
    };
    await cover('0-1-1'); // behind
    const pool = createPool(s.config.ezones.c!.mysql, 3, { multipleStatements: true, apply: true });
    const other = await adminConnection('c');
    await other.query('SET SESSION innodb_lock_wait_timeout = 1');
    try {
      const applier = new ChunkCopyApplier({ ezone: 'c', pool, flavor: await detectFlavor(pool), config: s.config, log: testLogger() });
      const change: RowChange = { schema, table: 'u', op: 'insert', key: toWireRow({ id: 5 }), after: toWireRow({ id: 5, v: 'copy-5' }) };
      const range = { sql: 'id > ? AND id <= ?', params: [0, 10] };
      // (1) While capture is behind, the chunk holds no lock: a write of an absent key in its range goes through.
      const first = applier.applyVersionlessChunk([change], range);
      await new Promise((r) => setTimeout(r, 1_000));
      await other.query(`INSERT INTO ${schema}.u VALUES (7, 'local')`);
      // (2) Capture catches up: the chunk locks its range; an insert of an absent key in it waits. A write
      // elsewhere makes the chunk's position pass the coverage: it waits at most a few seconds, locked, then rolls back.
      let rejected = false;
      applier.afterLock = async () => {
        applier.afterLock = undefined;
        await expect(other.query(`INSERT INTO ${schema}.u VALUES (6, 'local')`)).rejects.toMatchObject({ code: 'ER_LOCK_WAIT_TIMEOUT' });
        rejected = true;
        await c.query('INSERT INTO elsewhere VALUES (1)');
      };
      await cover();
      const started = Date.now();
      await expect(first).rejects.toMatchObject({ name: 'CaptureBehindError' });
      expect(rejected).toBe(true);
      expect(Date.now() - started).toBeLessThan(15_000); // not the 30 s coverage timeout, under the lock
      await other.query(`INSERT INTO ${schema}.u VALUES (6, 'local')`); // the range is free again
      // (3) Retried once capture covers it: the chunk writes 5.
      await cover();
      expect(await applier.applyVersionlessChunk([change], range)).toEqual({ written: 1, skipped: 0, journaled: 0 });
      expect(await count(c, 'SELECT COUNT(*) FROM u')).toBe(5);
    } finally {
      await c.query('DELETE FROM drc_meta.journal_coverage WHERE id = 1');
      await other.end();
      await pool.end();
    }
  });

  it("journals one applied transaction of 200k rows of a journaled table in bounded statements (under a 4 MB max_allowed_packet): c's coverage moves on", async () => {
    s = await scenario('bootstrap-versionless-bulk', {}, { ezones: ['a', 'c'] });
    const schema = s.schema;
    const c = s.db.c!;
    await c.query('CREATE TABLE u (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
    await ensureMetaSchema(c);
    const [[packet]] = (await c.query('SELECT @@GLOBAL.max_allowed_packet AS v')) as unknown as [mysql.RowDataPacket[]];
    await c.query('SET GLOBAL max_allowed_packet = 4194304'); // the recorder's new sessions take it
    const pool = createPool(s.config.ezones.c!.mysql, 3, { multipleStatements: true });
    const recorder = new TombstoneRecorder(pool, 'c', testLogger(), undefined, () => '', true);
    try {
      await registerJournal(pool, [{ schema, table: 'u' }]);
      await ackJournal(pool, [{ schema, table: 'u' }], '0-1-1');
      await recorder.loadJournal();
      recorder.start('0-1-1');
      const notifications = Array.from({ length: 200_000 }, (_, i) => ({ v: 1 as const, schema, table: 'u', key: { id: i }, op: 'update' as const, origin: 'a', version: null, tx: 'x', ts: 0 }));
      const part = { txId: 'bulk', origin: 'a', applied: true, chunks: [], notifications, tombstones: [], bytes: 0, rows: notifications.length, end: { position: '0-1-2', commitTime: 0 } } as unknown as CapturedPart;
      recorder.add(part);
      await recorder.waitUntilCovered('0-1-2', 60_000);
      expect(await count(c, 'SELECT COUNT(*) FROM drc_meta.bootstrap_keys WHERE schema_name = ?', [schema])).toBe(200_000);
    } finally {
      await recorder.stop();
      await pool.end();
      await c.query(`SET GLOBAL max_allowed_packet = ${Number(packet!.v)}`);
    }
  });

  it('a chunk of a table with a composite key locks only its key range: a write far outside it goes through, one inside waits', async () => {
    s = await scenario('bootstrap-versionless-composite', {}, { ezones: ['a', 'c'] });
    const schema = s.schema;
    const c = s.db.c!;
    await c.query('CREATE TABLE k (a INT NOT NULL, b INT NOT NULL, v VARCHAR(20) NOT NULL, PRIMARY KEY (a, b))');
    await c.query("INSERT INTO k (a, b, v) SELECT x.seq, y.seq, 'seed' FROM seq_1_to_200 x, seq_1_to_10 y");
    await ensureMetaSchema(c);
    // c's capture (not running here) covers c's binlog up to now (the coverage row itself is not logged).
    const [[pos]] = await c.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS p');
    await unlogged(c, `REPLACE INTO drc_meta.journal_coverage (id, covered, updated_at) VALUES (1, '${String(pos!.p)}', UTC_TIMESTAMP(6))`);
    const pool = createPool(s.config.ezones.c!.mysql, 3, { multipleStatements: true, apply: true });
    const other = await adminConnection('c');
    try {
      const applier = new ChunkCopyApplier({ ezone: 'c', pool, flavor: await detectFlavor(pool), config: s.config, log: testLogger() });
      const int = { dataType: 'int', columnType: 'int(11)', charset: null, collation: null, generated: false };
      const planned = { table: { schema, table: 'k', pk: [{ name: 'a', ...int }, { name: 'b', ...int }] } } as unknown as PlannedTable;
      const hex = (n: number) => Buffer.from(String(n)).toString('hex').toUpperCase();
      const range = chunkRange(planned, [hex(50), hex(5)], [hex(52), hex(5)]);
      let release: () => void = () => undefined;
      let locked: () => void = () => undefined;
      const isLocked = new Promise<void>((r) => (locked = r));
      applier.afterLock = () => new Promise<void>((r) => ((release = r), locked()));
      const change: RowChange = { schema, table: 'k', op: 'update', key: toWireRow({ a: 51, b: 3 }), after: toWireRow({ a: 51, b: 3, v: 'copy' }) };
      const chunk = applier.applyVersionlessChunk([change], range);
      await isLocked;
      await other.query('SET SESSION innodb_lock_wait_timeout = 1');
      // Far outside (50,5]..(52,5]: neither its row nor its gap is locked.
      await other.query(`INSERT INTO ${schema}.k VALUES (190, 11, 'outside')`);
      await other.query(`UPDATE ${schema}.k SET v = 'outside' WHERE a = 10 AND b = 1`);
      // Inside: an absent key (the gap) and a present one wait for the chunk.
      await expect(other.query(`INSERT INTO ${schema}.k VALUES (51, 200, 'inside')`)).rejects.toMatchObject({ code: 'ER_LOCK_WAIT_TIMEOUT' });
      await expect(other.query(`UPDATE ${schema}.k SET v = 'inside' WHERE a = 52 AND b = 5`)).rejects.toMatchObject({ code: 'ER_LOCK_WAIT_TIMEOUT' });
      // The writes outside moved c's binlog on: capture covers them (by hand), then the chunk goes on.
      const [[now]] = await c.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS p');
      await unlogged(c, `UPDATE drc_meta.journal_coverage SET covered = '${String(now!.p)}' WHERE id = 1`);
      release();
      expect(await chunk).toEqual({ written: 1, skipped: 0, journaled: 0 });
      expect(await count(c, "SELECT COUNT(*) FROM k WHERE a = 51 AND b = 3 AND v = 'copy'")).toBe(1);
    } finally {
      await c.query('DELETE FROM drc_meta.journal_coverage WHERE id = 1');
      await other.end();
      await pool.end();
    }
  });

  it("three ezones: a row a third ezone deletes during the copy, applied in c before a, does not come back in c (the re-decision waits for a to apply b up to c's position)", async () => {
    s = await scenario('bootstrap-versionless-three', {}, { ezones: ['a', 'b', 'c'] });
    const schema = s.schema;
    reconfigure(s, (c) => ({ ...c, tables: { [`${schema}.u`]: { versionColumn: null } } }));
    const { a, b, c } = s.db as Record<string, mysql.Connection>;
    const ddl = 'CREATE TABLE u (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)';
    for (const db of [a!, b!, c!]) await db.query(ddl);
    // a and b hold the rows, c is fresh.
    for (const db of [a!, b!]) await unlogged(db, "INSERT INTO u (id, v) SELECT seq, CONCAT('seed-', seq) FROM seq_1_to_20");
    const [daemonA, ...rest] = await startDaemons(s, ['a', 'b', 'c']);
    daemons.push(...rest);
    const log = testLogger();
    let raced = false;
    let restarted: Promise<void> | undefined;
    const report = await bootstrap(
      s.config,
      {
        target: 'c',
        source: 'a',
        resume: false,
        chunkSize: 10,
        concurrency: 1,
        maxChunksPerSecond: 100,
        maxLagMs: 30_000,
        waitStreamMs: 60_000,
        recheckDelayMs: 500,
        rechecks: 3,
        beforeWrite: async (_table: string, rows: Row[]) => {
          if (raced || !rows.some((r) => r.id === 5)) return;
          raced = true;
          // a stops applying (its daemon stops); b deletes 5, which c lacks: c records a delete-missing,
          // and the chunk, read from a before, then inserts 5 into c.
          await stopDaemons([daemonA!]);
          await b!.query('DELETE FROM u WHERE id = 5');
          await waitFor(() => count(c!, "SELECT COUNT(*) FROM drc_meta.conflicts WHERE schema_name = ? AND table_name = 'u' AND reason = 'delete-missing'", [schema]), { what: "c's stream to meet b's delete of 5", until: (n) => n === 1 });
          // a catches up with b only well after the last chunk.
          restarted = new Promise((r) => setTimeout(r, 12_000)).then(async () => void daemons.push(...(await startDaemons(s!, ['a']))));
        },
      },
      log,
      async (pool) => new ChunkCopyApplier({ ezone: 'c', pool, flavor: await detectFlavor(pool), config: s!.config, log }),
    );
    expect(raced).toBe(true);
    await restarted;
    await waitFor(() => count(a!, 'SELECT COUNT(*) FROM u WHERE id = 5'), { what: "a to apply b's delete of 5", until: (n) => n === 0, timeoutMs: 30_000 });
    expect(await count(c!, 'SELECT COUNT(*) FROM u WHERE id = 5')).toBe(0);
    expect(report.ok, JSON.stringify(report.verify.differences)).toBe(true);
    expect(report.tables).toMatchObject([{ table: `${schema}.u`, overtaken: 1 }]);
  });

  it("forgetting a journal waits until c's capture stopped journaling the table: no key reappears after, and its many keys are deleted in batches", async () => {
    s = await scenario('bootstrap-versionless-forget', {}, { ezones: ['a', 'c'] });
    const schema = s.schema;
    const { a, c } = s.db as Record<string, mysql.Connection>;
    for (const db of [a!, c!]) await db.query('CREATE TABLE u (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)');
    daemons.push(...(await startDaemons(s, ['a', 'c'])));
    const pool = createPool(s.config.ezones.c!.mysql, 2, { multipleStatements: true });
    try {
      await registerJournal(pool, [{ schema, table: 'u' }]);
      await waitFor(() => count(c!, 'SELECT COUNT(*) FROM drc_meta.bootstrap_journal WHERE schema_name = ? AND acked_from IS NOT NULL', [schema]), { what: 'c to journal u', until: (n) => n === 1, timeoutMs: 20_000 });
      await c!.query("INSERT INTO u VALUES (1, 'one')");
      await waitFor(() => count(c!, 'SELECT COUNT(*) FROM drc_meta.bootstrap_keys WHERE schema_name = ?', [schema]), { what: 'c to journal its write of 1', until: (n) => n === 1, timeoutMs: 20_000 });
      // Many keys (more than one delete batch).
      await c!.query("INSERT INTO drc_meta.bootstrap_keys SELECT ?, 'u', UNHEX(SHA2(seq, 256)), '[]', 'x', UTC_TIMESTAMP(6) FROM seq_1_to_25000", [schema]);
      // c writes u all along: what capture journals before it stops is deleted with the rest, nothing after.
      let writing = true;
      let written = 1;
      const writer = (async () => {
        while (writing) {
          await c!.query('INSERT INTO u VALUES (?, ?)', [++written, 'during']);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await new Promise((r) => setTimeout(r, 500));
      await forgetJournal(pool, [{ schema, table: 'u' }], 20_000);
      await new Promise((r) => setTimeout(r, 500));
      writing = false;
      await writer;
      await waitFor(() => count(a!, 'SELECT COUNT(*) FROM u'), { what: "c's writes to reach a (c's capture read them)", until: (n) => n === written, timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await count(c!, 'SELECT COUNT(*) FROM drc_meta.bootstrap_keys WHERE schema_name = ?', [schema])).toBe(0);
      expect(await count(c!, 'SELECT COUNT(*) FROM drc_meta.bootstrap_journal WHERE schema_name = ?', [schema])).toBe(0);
    } finally {
      await pool.end();
    }
  });
});
