import { afterEach, expect, it } from 'vitest';
import { decodeChunk } from '../../src/model/envelope.js';
import { changesTopic } from '../../src/model/topics.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { describeWithServers } from '../support/env.js';
import { consumeTopic, insertSeries, scenario, type Scenario } from '../support/scenario.js';
import { waitFor } from '../support/wait.js';

describeWithServers('capture across crashes and huge transactions (drc run processes)', () => {
  let s: Scenario | undefined;
  const daemons: DaemonProcess[] = [];
  /** `drc run` for ezone a, once it reports itself active on /healthz. */
  const start = async () => {
    const d = await DaemonProcess.start(['run', '--config', s!.configFile, '--ezone', 'a'], { DRC_PROGRESS_MS: '2000' });
    daemons.push(d);
    await d.waitActive();
    return d;
  };
  afterEach(async () => {
    for (const d of daemons.splice(0)) if (d.child.exitCode === null) await d.kill();
    await s?.close();
    s = undefined;
  });

  it('ships every transaction exactly once when killed with SIGKILL in the middle of a 50k-row workload', async () => {
    s = await scenario('crash');
    const TXS = 10_000;
    const ROWS = 5;
    await s.db.a!.query('CREATE TABLE w (id INT AUTO_INCREMENT PRIMARY KEY, batch INT NOT NULL, n INT NOT NULL, pad VARCHAR(40) NOT NULL)');
    const first = await start();

    let committed = 0;
    const writers = await Promise.all([0, 1, 2, 3].map(async () => {
      const { adminConnection } = await import('../support/env.js');
      const conn = await adminConnection('a');
      await conn.query(`USE ${s!.schema}`);
      return conn;
    }));
    let next = 0;
    const workload = Promise.all(
      writers.map(async (conn) => {
        for (let b = next++; b < TXS; b = next++) {
          const values = Array.from({ length: ROWS }, (_, n) => `(${b}, ${n}, 'pad-${b}-${n}')`).join(',');
          await conn.query(`INSERT INTO w (batch, n, pad) VALUES ${values}`);
          committed++;
        }
        await conn.end();
      }),
    );
    await waitFor(() => committed, { what: `${TXS * 0.3} transactions committed`, until: (c) => c >= TXS * 0.3, intervalMs: 20, timeoutMs: 120_000 });
    await first.kill('SIGKILL');
    const killedAt = committed;
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(TXS);
    await start();
    await workload;

    const seenTx = new Map<string, number>();
    const rowsByBatch = new Map<number, number>();
    let open: { id: string; rows: { batch: number }[] } | undefined;
    const done = await consumeTopic(s.kafka, changesTopic(s.prefix, 'a'), (m) => {
      const c = decodeChunk(m.value);
      if (c.seq === 0) open = { id: c.id, rows: [] };
      if (open?.id !== c.id) throw new Error(`chunk ${c.seq} of ${c.id} interleaved with ${open?.id}`); // chunks are contiguous
      // The daemon's own heartbeat rows travel on the same topic.
      for (const ch of c.changes) if (ch.table === 'w') open!.rows.push({ batch: Number(ch.after!.batch) });
      if (c.last) {
        if (open!.rows.length > 0) {
          seenTx.set(c.id, (seenTx.get(c.id) ?? 0) + 1);
          for (const r of open!.rows) rowsByBatch.set(r.batch, (rowsByBatch.get(r.batch) ?? 0) + 1);
        }
        open = undefined;
      }
      return rowsByBatch.size === TXS && [...rowsByBatch.values()].every((n) => n === ROWS);
    }, 120_000);
    const duplicated = [...seenTx].filter(([, n]) => n > 1);
    const incomplete = [...rowsByBatch].filter(([, n]) => n !== ROWS);
    expect({ done, transactions: seenTx.size, duplicated, incomplete, rows: [...rowsByBatch.values()].reduce((a, b) => a + b, 0) }).toEqual({
      done: true,
      transactions: TXS,
      duplicated: [],
      incomplete: [],
      rows: TXS * ROWS,
    });
    process.stdout.write(`\n[capture-crash] killed after ${killedAt} of ${TXS} transactions; ${seenTx.size} shipped exactly once\n`);
  }, 300_000);

  it('streams a 200 MB transaction in chunks under the message limit with bounded memory', async () => {
    s = await scenario('big');
    const ROWS = 200_000;
    const PAD = 1000;
    await s.db.a!.query('CREATE TABLE big (id INT PRIMARY KEY, pad TEXT NOT NULL)');
    const d = await start();
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, d.rssMb())), 100);
    const started = Date.now();
    await insertSeries(s.db.a!, 'big', ROWS, PAD);

    let rows = 0;
    let chunks = 0;
    let maxBytes = 0;
    let lastSeen = false;
    const ids = new Set<string>();
    let bigId: string | undefined;
    const done = await consumeTopic(s.kafka, changesTopic(s.prefix, 'a'), (m) => {
      const c = decodeChunk(m.value);
      // Heartbeat transactions come and go around the big one; follow the transaction that writes `big`.
      bigId ??= c.changes.some((ch) => ch.table === 'big') ? c.id : undefined;
      if (c.id !== bigId) return false;
      expect(c.seq).toBe(chunks);
      expect(lastSeen).toBe(false);
      ids.add(c.id);
      chunks++;
      rows += c.changes.length;
      maxBytes = Math.max(maxBytes, m.value.length);
      lastSeen = c.last;
      return c.last;
    }, 240_000);
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    expect({ done, rows, transactions: ids.size }).toEqual({ done: true, rows: ROWS, transactions: 1 });
    expect(maxBytes).toBeLessThanOrEqual(s.config.kafka.maxMessageBytes);
    expect(chunks).toBeGreaterThan(200);
    process.stdout.write(
      `\n[capture-big] ${ROWS} rows (~${Math.round((ROWS * PAD) / 1e6)} MB) in one transaction: ${chunks} chunks, largest ${maxBytes} B, ` +
        `capture RSS max ${rssMax.toFixed(0)} MB, insert→last chunk read ${seconds.toFixed(1)} s\n`,
    );
  }, 300_000);
});
