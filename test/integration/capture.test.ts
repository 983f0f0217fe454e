import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { startCapture, type Running } from '../../src/daemon/wiring.js';
import { decodeChunk, type TxChunk } from '../../src/model/envelope.js';
import type { Notification } from '../../src/model/notify.js';
import { changesTopic, notifyTopic } from '../../src/model/topics.js';
import { toWireRow } from '../../src/model/value.js';
import { describeWithServers } from '../support/env.js';
import { eventually, readTopic, scenario, type Scenario } from '../support/scenario.js';
import { testLogger } from '../support/test-logger.js';

const log = testLogger();

/** Every final chunk on the changes topic, decoded, in order (position-only messages left out). */
async function transactionsOn(s: Scenario, ezone: string, done: (txs: TxChunk[]) => boolean, timeoutMs = 30_000): Promise<TxChunk[]> {
  const decodeAll = (msgs: { value: Buffer }[]) => {
    const txs: TxChunk[] = [];
    let open: TxChunk | undefined;
    for (const m of msgs) {
      const c = decodeChunk(m.value);
      open = open && open.id === c.id ? { ...c, changes: [...open.changes, ...c.changes] } : c;
      if (c.last) {
        if (open.changes.length > 0) txs.push(open);
        open = undefined;
      }
    }
    return txs;
  };
  return decodeAll(await readTopic(s.kafka, changesTopic(s.prefix, ezone), (msgs) => done(decodeAll(msgs)), timeoutMs));
}

const TYPES_TABLE = `CREATE TABLE types (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  i_tiny TINYINT, i_small SMALLINT UNSIGNED, i_med MEDIUMINT, i_int INT, i_big BIGINT, i_ubig BIGINT UNSIGNED,
  f_float FLOAT, f_double DOUBLE, d_dec DECIMAL(30,10),
  dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, d DATE, t TIME(6), y YEAR,
  c CHAR(10), vc VARCHAR(100), tx TEXT, bin BINARY(4), vbin VARBINARY(10), bl BLOB,
  e ENUM('a','b','c'), s SET('x','y','z'), j JSON, bits BIT(10),
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
)`;

describeWithServers('capture', () => {
  let s: Scenario;
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await s?.close();
  });

  it('ships inserts, updates and deletes of every type family as whole transactions with exact values, in commit order', async () => {
    s = await scenario('types');
    const a = s.db.a!;
    await a.query(TYPES_TABLE);
    running = await startCapture(s.config, 'a', log);

    await a.query('BEGIN');
    await a.query(
      `INSERT INTO types VALUES
       (1, -128, 65535, -8388608, -2147483648, -9223372036854775808, 18446744073709551615,
        1.5, 3.141592653589793, '-12345678901234567890.0123456789',
        '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999999', '1000-01-01', '-838:59:59.000000', 2155,
        'chär', 'ünïcødé ✓', REPEAT('long text ', 100), X'00FF0001', X'', X'DEADBEEF00',
        'b', 'x,z', '{"k": [1, 2.5, "s", null, {"n": 18446744073709551615}]}', b'1010101010', '2024-01-01 00:00:00.000001'),
       (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        '', '', '', NULL, NULL, '', NULL, '', NULL, NULL, '2024-01-01 00:00:00.000002')`,
    );
    await a.query('COMMIT');
    await a.query("UPDATE types SET vc = 'changed', d_dec = 0.0000000001, updated_at = '2024-01-02 00:00:00.5' WHERE id = 1");
    await a.query('BEGIN');
    await a.query('DELETE FROM types WHERE id = 2');
    await a.query("UPDATE types SET id = 3 WHERE id = 1"); // primary key change: one update carrying the old key
    await a.query('COMMIT');

    const txs = await transactionsOn(s, 'a', (t) => t.length >= 3);
    expect(txs.map((t) => t.changes.map((c) => `${c.op}:${c.oldKey ? `${String(c.oldKey.id)}→` : ''}${String(c.key.id)}`))).toEqual([
      ['insert:1', 'insert:2'],
      ['update:1'],
      ['delete:2', 'update:1→3'],
    ]);
    for (const t of txs) expect(t).toMatchObject({ origin: 'a', last: true });
    expect(new Set(txs.map((t) => t.id)).size).toBe(3);

    // The after-image of the key change is exactly what the database returns for the row.
    const [[row3]] = await a.query<RowDataPacket[]>('SELECT * FROM types WHERE id = 3');
    const inserted = txs[2]!.changes[1]!;
    expect(inserted.after).toEqual(toWireRow(row3 as Record<string, unknown>));
    expect(inserted.after).toMatchObject({
      i_big: '-9223372036854775808',
      i_ubig: '18446744073709551615',
      d_dec: '0.0000000001',
      dt: '2024-02-29 23:59:59.123456',
      ts: '2038-01-19 03:14:07.999999',
      t: '-838:59:59.000000',
      bin: { $b: Buffer.from([0, 0xff, 0, 1]).toString('base64') },
      vbin: { $b: '' },
      s: 'x,z',
      vc: 'changed',
    });
    // NULL and empty stay distinct.
    const deleted2 = txs[2]!.changes[0]!;
    expect(deleted2.before).toMatchObject({ c: '', vc: '', i_int: null, bin: null, bl: { $b: '' }, j: null });
    // Versions: the after-image's version column (UTC epoch µs); a delete takes max(before, commit time).
    expect(txs[1]!.changes[0]!.version).toBe(String(Date.UTC(2024, 0, 2) * 1000 + 500_000));
    expect(BigInt(deleted2.version!)).toBeGreaterThan(BigInt(Date.UTC(2025, 0, 1) * 1000));
  });

  it('keeps DRC-applied transactions off changes but notifies them with their true origin', async () => {
    s = await scenario('marker');
    const a = s.db.a!;
    await a.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))');
    running = await startCapture(s.config, 'a', log);

    await a.query('BEGIN');
    await a.query(
      `INSERT INTO drc_meta.tx_origin (slot, origin, origin_tx, origin_pos, n, applied_at) VALUES (900, 'b', '2-2-7', '2-2-7', 1, UTC_TIMESTAMP(6))
       ON DUPLICATE KEY UPDATE origin = VALUES(origin), origin_tx = VALUES(origin_tx), n = n + 1`,
    );
    await a.query("INSERT INTO t (id, v) VALUES (1, 'from-b')");
    await a.query('COMMIT');
    await a.query("INSERT INTO t (id, v) VALUES (2, 'local')");

    const notes = (await readTopic(s.kafka, notifyTopic(s.prefix, 'a'), (m) => m.length >= 2)).map((m) => JSON.parse(m.value.toString()) as Notification);
    expect(notes.map((n) => [n.key.id, n.origin, n.op, n.table])).toEqual(
      expect.arrayContaining([
        [1, 'b', 'insert', 't'],
        [2, 'a', 'insert', 't'],
      ]),
    );
    const txs = await transactionsOn(s, 'a', (t) => t.length >= 1);
    expect(txs.flatMap((t) => t.changes.map((c) => c.key.id))).toEqual([2]);
  });

  it('notifies every row of a huge DRC-applied transaction once (it ships in parts, 16 kB each here), and nothing of it on changes', async () => {
    s = await scenario('marker_big');
    const a = s.db.a!;
    await a.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))');
    // 16 kB messages: a part at every 81 notifications, about 250 of them for this transaction.
    running = await startCapture({ ...s.config, kafka: { ...s.config.kafka, maxMessageBytes: 16_384 } }, 'a', log);
    await a.query('BEGIN');
    await a.query(
      `INSERT INTO drc_meta.tx_origin (slot, origin, origin_tx, origin_pos, n, applied_at) VALUES (900, 'b', '2-2-8', '2-2-8', 1, UTC_TIMESTAMP(6))
       ON DUPLICATE KEY UPDATE origin = VALUES(origin), origin_tx = VALUES(origin_tx), n = n + 1`,
    );
    await a.query("INSERT INTO t (id, v) SELECT seq, 'from-b' FROM seq_1_to_20000");
    await a.query('COMMIT');
    await a.query("INSERT INTO t (id, v) VALUES (0, 'local')");

    const notes = (await readTopic(s.kafka, notifyTopic(s.prefix, 'a'), (m) => m.length >= 20_001)).map((m) => JSON.parse(m.value.toString()) as Notification);
    const applied = notes.filter((n) => n.origin === 'b').map((n) => n.key.id as number);
    expect(applied).toHaveLength(20_000);
    expect(new Set(applied).size).toBe(20_000);
    expect(notes.filter((n) => n.origin === 'a').map((n) => n.key.id)).toEqual([0]);
    const txs = await transactionsOn(s, 'a', (t) => t.length >= 1);
    expect(txs.flatMap((t) => t.changes.map((c) => c.key.id))).toEqual([0]);
  });

  it('decodes a backlog across ALTER TABLE with the schema each row was written with', async () => {
    s = await scenario('alter');
    const a = s.db.a!;
    await a.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))');
    running = await startCapture(s.config, 'a', log);
    await a.query("INSERT INTO t VALUES (1, 'one')");
    await transactionsOn(s, 'a', (t) => t.length >= 1);
    await running.close();
    running = undefined;

    // Written while capture is down: it reads them later, after the ALTER has happened.
    await a.query("INSERT INTO t VALUES (2, 'two')");
    await a.query("ALTER TABLE t ADD COLUMN extra INT NOT NULL DEFAULT 7 AFTER id");
    await a.query("INSERT INTO t VALUES (3, 8, 'three')");
    await a.query("UPDATE t SET v = 'two!' WHERE id = 2");
    running = await startCapture(s.config, 'a', log);

    const txs = await transactionsOn(s, 'a', (t) => t.length >= 4);
    expect(txs.map((t) => t.changes[0]!.after)).toEqual([
      { id: 1, v: 'one' },
      { id: 2, v: 'two' },
      { id: 3, extra: 8, v: 'three' },
      { id: 2, extra: 7, v: 'two!' },
    ]);
    expect(txs.slice(1).every((t) => t.id !== txs[0]!.id)).toBe(true);
  });

  it('refuses tables without a primary key by name, at start and when one appears later, and keeps shipping every other table (issue 12)', async () => {
    s = await scenario('nopk');
    const a = s.db.a!;
    await a.query('CREATE TABLE keyless (v INT)');
    await a.query('CREATE TABLE ok (id INT PRIMARY KEY)');
    running = await startCapture(s.config, 'a', log);
    expect(running.capture.sample().refusedTables).toEqual({ [`${s.schema}.keyless`]: { rows: 0, refusing: true } });
    await a.query('CREATE TABLE later (v INT)');
    await a.query('INSERT INTO later VALUES (1), (2)');
    await a.query('INSERT INTO ok VALUES (1)');
    await a.query('INSERT INTO ok VALUES (2)');
    const txs = await transactionsOn(s, 'a', (t) => t.length >= 2);
    expect(txs.flatMap((t) => t.changes.map((c) => [c.table, c.key]))).toEqual([
      ['ok', { id: 1 }],
      ['ok', { id: 2 }],
    ]);
    expect(running.capture.sample().refusedTables?.[`${s.schema}.later`]).toEqual({ rows: 2, refusing: true });
    expect(running.capture.state.status).toBe('running');
  });

  it('records tombstones for local deletes before shipping them, and reports coverage', async () => {
    s = await scenario('tomb');
    const a = s.db.a!;
    await a.query('CREATE TABLE t (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL)');
    await a.query("INSERT INTO t VALUES (1, '2030-01-01 00:00:00'), (2, '2020-01-01 00:00:00')");
    running = await startCapture(s.config, 'a', log);
    await a.query('DELETE FROM t');
    const [[pos]] = await a.query<RowDataPacket[]>('SELECT @@gtid_binlog_pos AS p');
    await running.capture.waitUntilCovered(String(pos!.p), 10_000);
    const [stones] = await a.query<RowDataPacket[]>(
      'SELECT key_json, version, origin FROM drc_meta.tombstones WHERE schema_name = ? ORDER BY key_json',
      [s.schema],
    );
    expect(stones.map((r) => [r.key_json, r.origin])).toEqual([
      ['[["id","1"]]', 'a'],
      ['[["id","2"]]', 'a'],
    ]);
    // The future version is kept; the old one is lifted to the delete's commit time.
    expect(String(stones[0]!.version)).toBe(String(Date.UTC(2030, 0, 1) * 1000));
    expect(BigInt(String(stones[1]!.version))).toBeGreaterThan(BigInt(Date.UTC(2025, 0, 1) * 1000));
    await eventually('both deletes shipped', async () => (await transactionsOn(s, 'a', (t) => t.length >= 1, 2000)).length >= 1);
  });
});
