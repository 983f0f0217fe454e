/**
 * Issue 12, sizes: values larger than a Kafka message replicate byte for byte, a transaction of
 * multi-byte text is chunked by bytes, and nothing after them stalls. The broker keeps its default
 * message limit (~1 MB); DRC's daemons run as child processes so their peak RSS can be measured.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { Reassembler } from '../../src/apply/reassembler.js';
import { encodeTransaction } from '../../src/model/envelope.js';
import { changesTopic, conflictsTopic, deadLetterTopic } from '../../src/model/topics.js';
import { toWireRow } from '../../src/model/value.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers } from '../support/env.js';
import type { Random } from '../support/random.js';
import { connectEzone, eventually, readTopic, scenario, type Scenario } from '../support/scenario.js';

const MB = 1 << 20;

/** Peak resident memory of a process since the last reset, in MB (Linux VmHWM). */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Reset a process's peak RSS to its current RSS (Linux: clear_refs 5). */
function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Seeded bytes. */
function randomBytesOf(r: Random, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) {
    const x = Math.floor(r.next() * 2 ** 32);
    for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (x >>> (8 * k)) & 0xff;
  }
  return b;
}

/** Seeded text from code point ranges. */
function randomText(r: Random, chars: number, ranges: [number, number][]): string {
  const out: string[] = [];
  for (let i = 0; i < chars; i++) {
    const [lo, hi] = ranges[r.int(ranges.length)]!;
    out.push(String.fromCodePoint(lo + r.int(hi - lo + 1)));
  }
  return out.join('');
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Setup {
  s: Scenario;
  /** Connections opened after max_allowed_packet was raised (they may send values of tens of MB). */
  db: Record<'a' | 'b', mysql.Connection>;
  a: DaemonProcess;
  b: DaemonProcess;
}

describeWithServers('sizes: values and transactions larger than a Kafka message (issue 12)', () => {
  let setup: Setup | undefined;
  afterEach(async () => {
    if (!setup) return;
    for (const p of [setup.a, setup.b]) if (p.child.exitCode === null) await p.kill('SIGTERM');
    for (const c of Object.values(setup.db)) await c.end();
    await setup.s.close();
    setup = undefined;
  });

  /** Two ezones, a table `t` with `column` in both, both daemons running as processes. */
  async function start(name: string, column: string, env: NodeJS.ProcessEnv = {}, overrides: Record<string, unknown> = {}): Promise<Setup> {
    const s = await scenario(name, overrides, { ezones: ['a', 'b'] });
    // A LONGBLOB of tens of MB needs servers that accept such packets (MariaDB's default is 16 MB);
    // the peer's statement carries a binary value as hex, twice its size.
    for (const ez of ['a', 'b'] as const) await s.db[ez]!.query('SET GLOBAL max_allowed_packet = 256 * 1024 * 1024');
    const db = { a: await connectEzone('a', s.schema), b: await connectEzone('b', s.schema) };
    for (const ez of ['a', 'b'] as const) await db[ez].query(`CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(20) NOT NULL DEFAULT '', ${column})`);
    const run = (ez: string) => DaemonProcess.start(['run', '--config', s.configFile, '--ezone', ez], env);
    const procs = { a: await run('a'), b: await run('b') };
    await Promise.all([procs.a.waitActive(60_000), procs.b.waitActive(60_000)]);
    return (setup = { s, db, ...procs });
  }

  /** Per-row length and SHA-256 of `expr`, and CHECKSUM TABLE, in one ezone. */
  async function digest(conn: mysql.Connection, expr: string): Promise<{ rows: string; checksum: string }> {
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT id, note, LENGTH(${expr}) AS n, SHA2(${expr}, 256) AS h FROM t ORDER BY id`);
    const [[sum]] = await conn.query<RowDataPacket[]>('CHECKSUM TABLE t');
    return { rows: JSON.stringify(rows), checksum: String(sum!.Checksum) };
  }

  /** Wait until b holds row `id` with `note`, then compare every row and the table checksum. */
  async function arrives(st: Setup, id: number, note: string, expr: string, timeoutMs = 120_000): Promise<void> {
    await eventually(
      `row ${id} (${note}) in b`,
      async () => {
        const [rows] = await st.db.b.query<RowDataPacket[]>('SELECT note FROM t WHERE id = ?', [id]);
        return rows[0]?.note === note;
      },
      timeoutMs,
    );
    const [da, db] = [await digest(st.db.a, expr), await digest(st.db.b, expr)];
    expect(db.rows).toBe(da.rows);
    expect(db.checksum).toBe(da.checksum);
  }

  /** A small row after the big ones still arrives (nothing stalled), capture never restarted, nothing was dead-lettered. */
  async function nothingStalled(st: Setup, expr: string): Promise<void> {
    await st.db.a.query("INSERT INTO t (id, note) VALUES (1000000, 'small after')");
    await arrives(st, 1_000_000, 'small after', expr, 60_000);
    for (const d of [st.a, st.b]) {
      expect(await d.metric('drc_capture_restarts_total')).toBe(0);
      expect(await d.metric('drc_dead_letters_total')).toBe(0);
      expect(await d.metric('drc_apply_retries_total')).toBe(0);
    }
  }

  it('replicates a 2 MB LONGBLOB row byte for byte (insert, update of another column, delete), and what follows it', async () => {
    const st = await start('sizes2mb', 'v LONGBLOB');
    const blob = randomBytesOf(st.s.random(1), 2 * MB + 7);
    await st.db.a.query("INSERT INTO t (id, note, v) VALUES (1, 'inserted', ?)", [blob]);
    await arrives(st, 1, 'inserted', 'v');
    const [[row]] = await st.db.b.query<RowDataPacket[]>('SELECT SHA2(v, 256) AS h, HEX(SUBSTRING(v, 1, 64)) AS head, HEX(SUBSTRING(v, -64)) AS tail FROM t WHERE id = 1');
    expect(row).toEqual({ h: sha256(blob), head: blob.subarray(0, 64).toString('hex').toUpperCase(), tail: blob.subarray(-64).toString('hex').toUpperCase() });
    // An update of another column ships both images (twice the value), a delete the before-image.
    await st.db.a.query("UPDATE t SET note = 'updated' WHERE id = 1");
    await arrives(st, 1, 'updated', 'v');
    await st.db.a.query("INSERT INTO t (id, note, v) VALUES (2, 'second', ?)", [blob.subarray(1)]);
    await arrives(st, 2, 'second', 'v');
    await st.db.a.query('DELETE FROM t WHERE id = 1');
    await eventually('row 1 deleted in b', async () => (await st.db.b.query<RowDataPacket[]>('SELECT 1 FROM t WHERE id = 1'))[0].length === 0, 60_000);
    await nothingStalled(st, 'v');
  }, 240_000);

  it('replicates a 30 MB LONGBLOB row with bounded memory (peak RSS reported)', async () => {
    // With the heap bounded as the Dockerfile and the systemd unit do.
    const st = await start('sizes30mb', 'v LONGBLOB', { NODE_OPTIONS: '--max-old-space-size=192 --max-semi-space-size=8' });
    const blob = randomBytesOf(st.s.random(2), 30 * MB);
    await st.db.a.query("INSERT INTO t (id, note) VALUES (1, 'warm-up')");
    await arrives(st, 1, 'warm-up', 'v');
    const before = { a: st.a.rssMb(), b: st.b.rssMb() };
    resetPeakRss(st.a.pid);
    resetPeakRss(st.b.pid);
    await st.db.a.query("INSERT INTO t (id, note, v) VALUES (2, 'big', ?)", [blob]);
    await arrives(st, 2, 'big', 'v', 180_000);
    const peak = { a: peakRssMb(st.a.pid), b: peakRssMb(st.b.pid) };
    const [[row]] = await st.db.b.query<RowDataPacket[]>('SELECT LENGTH(v) AS n, SHA2(v, 256) AS h FROM t WHERE id = 2');
    expect(row).toEqual({ n: blob.length, h: sha256(blob) });
    process.stdout.write(
      `sizes: 30 MB LONGBLOB row: capture daemon a RSS ${before.a.toFixed(0)} MB before, peak ${peak.a.toFixed(0)} MB; ` +
        `apply daemon b RSS ${before.b.toFixed(0)} MB before, peak ${peak.b.toFixed(0)} MB\n`,
    );
    // Bounded by a multiple of the value, not by the transaction or the queue (a leak or a second copy
    // per chunk would blow far past this). Measured (2 cores, heap bound 192 MB): on Node 20 capture
    // +215 MB (about 7x: binlog event, base64, JSON, pieces), apply +160 to +225 MB with the value bound
    // in the binary protocol (db/pipelined-session.ts; +258 to +299 MB, up to 11x, hex-escaped into the
    // query text before; on Node 24 that was +374 MB, 12.5x). The target (the value plus one message)
    // is not met (README, sizes).
    expect(peak.a - before.a).toBeLessThan(16 * 30);
    expect(peak.b - before.b).toBeLessThan(16 * 30);
    await nothingStalled(st, 'v');
  }, 300_000);

  it('replicates a 1,000-row transaction of CJK text (~1.2 MB of UTF-8) chunked by bytes', async () => {
    const st = await start('sizescjk', 'v TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
    const r = st.s.random(3);
    const rows = Array.from({ length: 1000 }, (_, i) => [i + 1, 'cjk', randomText(r, 400, [[0x4e00, 0x9fff], [0x3040, 0x30ff], [0xac00, 0xd7a3]])]);
    expect(rows.reduce((n, row) => n + Buffer.byteLength(row[2] as string), 0)).toBeGreaterThan(1.15 * 1000 * 1000);
    await st.db.a.query('BEGIN');
    for (let i = 0; i < rows.length; i += 100) await st.db.a.query('INSERT INTO t (id, note, v) VALUES ?', [rows.slice(i, i + 100)]);
    await st.db.a.query('COMMIT');
    await arrives(st, 1000, 'cjk', 'v');
    const [[all]] = await st.db.b.query<RowDataPacket[]>("SELECT COUNT(*) AS n, SUM(LENGTH(v)) AS bytes FROM t WHERE note = 'cjk'");
    expect(all).toEqual({ n: 1000, bytes: String(rows.reduce((n, row) => n + Buffer.byteLength(row[2] as string), 0)) });
    await nothingStalled(st, 'v');
  }, 240_000);

  it('replicates a row with a 4-byte-emoji text of several MB byte for byte', async () => {
    const st = await start('sizesemoji', 'v MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
    const text = randomText(st.s.random(4), 1_500_000, [[0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x2a6df], [0x41, 0x5a]]);
    const bytes = Buffer.byteLength(text);
    expect(bytes).toBeGreaterThan(4 * MB); // mostly 4-byte characters
    await st.db.a.query("INSERT INTO t (id, note, v) VALUES (1, 'emoji', ?)", [text]);
    await arrives(st, 1, 'emoji', 'v');
    const [[row]] = await st.db.b.query<RowDataPacket[]>('SELECT LENGTH(v) AS n, CHAR_LENGTH(v) AS chars, SHA2(v, 256) AS h, HEX(SUBSTRING(v, 1, 16)) AS head FROM t WHERE id = 1');
    expect(row).toEqual({ n: bytes, chars: 1_500_000, h: sha256(text), head: Buffer.from([...text].slice(0, 16).join('')).toString('hex').toUpperCase() });
    await nothingStalled(st, 'v');
  }, 240_000);

  it('still applies version-1 messages already on Kafka, dead-letters garbage and broken pieces, and goes on', async () => {
    // No heartbeats meanwhile: a's capture would ship one to the topic the test writes by hand, and a
    // transaction of its own between two hand-sent pieces ends the pieced one early (a flaky failure).
    const st = await start('sizeswire', 'v LONGBLOB', {}, { heartbeat: { interval: '1h' } });
    const topic = changesTopic(st.s.prefix, 'a');
    const producer = st.s.kafka.producer();
    await producer.connect();
    const blob = randomBytesOf(st.s.random(5), 3 * MB);
    const big = { schema: st.s.schema, table: 't', op: 'insert' as const, key: { id: 3 }, after: toWireRow({ id: 3, note: 'pieces', v: blob }) };
    const pieces = encodeTransaction({ origin: 'a', id: 'test-3', position: 'x', commitTime: Date.now(), changes: [big] }, 500_000);
    const broken = encodeTransaction({ origin: 'a', id: 'test-4', position: 'x', commitTime: Date.now(), changes: [{ ...big, key: { id: 4 } }] }, 500_000);
    const v1 = JSON.stringify({ v: 1, kind: 'tx', origin: 'a', id: 'test-1', pos: 'x', ts: Date.now(), seq: 0, last: true, changes: [{ schema: st.s.schema, table: 't', op: 'insert', key: { id: 1 }, after: { id: 1, note: 'v1', v: { $b: 'AP8A' } } }] });
    try {
      await producer.send({ topic, messages: [{ key: 'a', value: v1 }, { key: 'a', value: Buffer.from([0xde, 0xad, 0x0a, 0xbe, 0xef]) }] });
      // A transaction whose second piece is lost: the rest of it is refused, and nothing after it is.
      for (const value of [broken[0]!, ...broken.slice(2), ...pieces]) await producer.send({ topic, messages: [{ key: 'a', value }] }); // one record batch each: under the broker's limit
    } finally {
      await producer.disconnect();
    }
    const noteIn = async (id: number) => (await st.db.b.query<RowDataPacket[]>('SELECT note FROM t WHERE id = ?', [id]))[0][0]?.note as string | undefined;
    await eventually('the transaction sent in pieces applied in b', async () => (await noteIn(3)) === 'pieces', 60_000);
    const [rows] = await st.db.b.query<RowDataPacket[]>('SELECT id, note, HEX(v) AS hex, SHA2(v, 256) AS h FROM t ORDER BY id');
    expect(rows.map((r) => [r.id, r.note, r.id === 1 ? r.hex : r.h])).toEqual([
      [1, 'v1', '00FF00'],
      [3, 'pieces', sha256(blob)],
    ]);
    // The garbage, and every message of the broken transaction after the gap (its first piece was taken,
    // then dropped with the transaction when the next one started).
    const expected = 1 + broken.length - 2;
    const dead = await readTopic(st.s.kafka, deadLetterTopic(st.s.prefix, 'b'), (m) => m.length >= expected, 30_000);
    expect(dead.length).toBe(expected);
    expect(await st.b.metric('drc_dead_letters_total')).toBe(expected);
    await st.db.a.query("INSERT INTO t (id, note) VALUES (1000000, 'small after')");
    await eventually('a row captured after them applied in b', async () => (await noteIn(1_000_000)) === 'small after', 60_000);
  }, 240_000);

  it('ships a big row exactly once when capture is killed while shipping it', async () => {
    const st = await start('sizeskill', 'v LONGBLOB');
    const blob = randomBytesOf(st.s.random(6), 12 * MB);
    await st.db.a.query("INSERT INTO t (id, note) VALUES (1, 'warm-up')");
    await arrives(st, 1, 'warm-up', 'v');
    await st.db.a.query("INSERT INTO t (id, note, v) VALUES (2, 'big', ?)", [blob]);
    await new Promise((r) => setTimeout(r, 300)); // capture is reading or shipping it
    await st.a.kill('SIGKILL');
    st.a = await DaemonProcess.start(['run', '--config', st.s.configFile, '--ezone', 'a']);
    await st.a.waitActive(60_000);
    await arrives(st, 2, 'big', 'v');
    await nothingStalled(st, 'v');
    // On the topic (read_committed), the row travelled once: no duplicate from the restart.
    const r = new Reassembler('a');
    const keys: number[] = [];
    await readTopic(st.s.kafka, changesTopic(st.s.prefix, 'a'), (msgs) => {
      const m = msgs.at(-1)!;
      for (const u of r.next(m).units) if (u.kind === 'tx' || u.kind === 'part') keys.push(...u.chunk.changes.filter((c) => c.table === 't').map((c) => Number(c.key.id)));
      return keys.includes(1_000_000);
    }, 60_000);
    expect(keys).toEqual([1, 2, 1_000_000]);
  }, 240_000);

  it('resolves a conflict between two 20 MB rows (recorded in drc_meta.conflicts, the big value as its size and SHA-256) and goes on', async () => {
    const st = await start('sizesconflict', 'v LONGBLOB, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)');
    const [x, y] = [randomBytesOf(st.s.random(7), 20 * MB), randomBytesOf(st.s.random(8), 20 * MB)];
    // The same key written in both ezones at once: each insert meets the other's row.
    await Promise.all([
      st.db.a.query("INSERT INTO t (id, note, v, updated_at) VALUES (1, 'both', ?, '2030-01-01 00:00:00.000001')", [x]),
      st.db.b.query("INSERT INTO t (id, note, v, updated_at) VALUES (1, 'both', ?, '2030-01-01 00:00:00.000002')", [y]),
    ]);
    await eventually(
      'both ezones keep the newer row',
      async () => {
        const [ha, hb] = await Promise.all([st.db.a, st.db.b].map(async (c) => (await c.query<RowDataPacket[]>('SELECT SHA2(v, 256) AS h FROM t WHERE id = 1'))[0][0]?.h as string));
        return ha === sha256(y) && hb === sha256(y);
      },
      180_000,
    );
    // In a, b's newer row was applied over a's own; both images are recorded, the 20 MB value of each
    // as its size and digest (a whole image would not fit MEDIUMTEXT, nor many a max_allowed_packet).
    const omitted = (b: Buffer) => ({ $omitted: { bytes: b.length, sha256: sha256(b) } });
    await eventually('the conflict recorded in a', async () => (await st.db.a.query<RowDataPacket[]>('SELECT 1 FROM drc_meta.conflicts WHERE schema_name = ?', [st.s.schema]))[0].length >= 1);
    const [recorded] = await st.db.a.query<RowDataPacket[]>('SELECT decision, incoming_image, local_image FROM drc_meta.conflicts WHERE schema_name = ?', [st.s.schema]);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.decision).toBe('applied');
    expect(JSON.parse(String(recorded[0]!.incoming_image))).toMatchObject({ id: 1, note: 'both', v: omitted(y) });
    expect(JSON.parse(String(recorded[0]!.local_image))).toMatchObject({ id: 1, note: 'both', v: omitted(x) });
    // On <prefix>.conflicts the report now fits one message, with the same images.
    const fromA = (m: { value: Buffer }[]) => m.map((r) => JSON.parse(r.value.toString()) as Record<string, unknown>).find((r) => r.ezone === 'a');
    const report = fromA(await readTopic(st.s.kafka, conflictsTopic(st.s.prefix), (m) => fromA(m) !== undefined, 30_000));
    expect(report).toMatchObject({ table: `${st.s.schema}.t`, key: { id: 1 }, incoming: { v: omitted(y) }, local: { v: omitted(x) } });
    expect(report).not.toHaveProperty('imagesOmitted');
    await st.db.a.query("INSERT INTO t (id, note) VALUES (1000000, 'small after')");
    await arrives(st, 1_000_000, 'small after', 'v', 60_000);
    for (const d of [st.a, st.b]) {
      expect(await d.metric('drc_capture_restarts_total')).toBe(0);
      expect(await d.metric('drc_dead_letters_total')).toBe(0);
      expect(await d.metric('drc_apply_retries_total')).toBe(0);
    }
  }, 360_000);
});
