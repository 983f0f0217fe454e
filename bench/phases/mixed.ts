/**
 * mixed: bidirectional and conflicting. Both ezones run inserts, updates and deletes (2:2:1, three
 * rows per transaction) on the same small key range at a fixed rate. Reports what was applied, how
 * many conflicts were resolved, and how long after the load stopped both ezones held identical rows.
 */
import mysql from 'mysql2/promise';
import { startActive, stopDaemon } from '../harness/daemons.js';
import { count, fingerprint } from '../harness/db.js';
import { MIXED_KEYS, say, sleep, sleepUntil, type BenchOptions } from '../harness/options.js';
import type { MixedResult } from '../harness/results.js';
import type { BenchSandbox } from '../harness/sandbox.js';
import { sandboxConnectionOptions } from '../../src/sandbox/admin-account.js';

/** A reproducible stream (the same workload every run; high bits of an LCG). */
function lcg(seed: number): (n: number) => number {
  let rand = seed;
  return (n) => ((rand = (rand * 1103515245 + 12345) % 2 ** 31), Math.floor((rand / 2 ** 31) * n));
}

/** One transaction of three random statements on the shared keys, as ezone `name` writes it. */
function statements(random: (n: number) => number, name: string): string[] {
  return [0, 1, 2].map(() => {
    const id = random(MIXED_KEYS);
    const kind = random(5);
    if (kind < 2) return `INSERT INTO mixed (id, v, note) VALUES (${id}, ${random(1000)}, '${name}') ON DUPLICATE KEY UPDATE v = VALUES(v), note = VALUES(note)`;
    if (kind < 4) return `UPDATE mixed SET v = v + 1, note = '${name}' WHERE id = ${id}`;
    return `DELETE FROM mixed WHERE id = ${id}`;
  });
}

/** Poll until both ezones hold identical rows for 2 s; ms after `stopped` they first did (NaN: never). */
async function convergence(dbs: mysql.Connection[], stopped: number): Promise<number> {
  const columns = 'id, v, note, updated_at';
  let convergedMs = NaN;
  for (let stable = 0; Date.now() - stopped < 120_000; await sleep(100)) {
    const [fa, fb] = await Promise.all(dbs.map((d) => fingerprint(d, 'bench.mixed', columns)));
    stable = fa === fb ? stable + 1 : 0;
    if (stable === 1) convergedMs = Date.now() - stopped;
    if (stable >= 20) break; // identical for 2 s: not a passing coincidence
  }
  return convergedMs;
}

export async function runMixed({ info, dbs }: BenchSandbox, options: BenchOptions): Promise<MixedResult> {
  const P = options.sizes;
  say(`mixed: insert/update/delete on ${MIXED_KEYS} shared keys, ${P.mixedTxPerSec} tx/s each way for ${P.mixedSeconds} s…`);
  const daemons = await startActive(info.config, ['a', 'b'], 'mixed', options.profile);
  const t0 = Date.now();
  let running = true;
  let sent = 0;
  const random = lcg(42);
  const writers = info.ezones.map(async (e) => {
    const conns = await Promise.all([0, 1, 2, 3].map(() => mysql.createConnection(sandboxConnectionOptions(e.mysql, { database: 'bench' }))));
    let due = 0;
    await Promise.all(
      conns.map(async (c) => {
        while (running) {
          const at = t0 + (due++ * 1000) / P.mixedTxPerSec;
          await sleepUntil(at);
          const tx = statements(random, e.name);
          try {
            await c.query('BEGIN');
            for (const q of tx) await c.query(q);
            await c.query('COMMIT');
            sent++;
          } catch (err) {
            // Writers of one ezone (and the applier) touch the same rows: a deadlock is part of the game.
            if (!['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'].includes((err as { code?: string }).code ?? '')) throw err;
            await c.query('ROLLBACK');
          }
        }
        await c.end();
      }),
    );
  });
  await sleep(P.mixedSeconds * 1000); // the load's duration, on purpose
  running = false;
  await Promise.all(writers);
  const stopped = Date.now();
  const convergedMs = await convergence(dbs, stopped);
  let conflicts = 0;
  for (const d of dbs) {
    const [[r]] = await d.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM drc_meta.conflicts WHERE schema_name = 'bench' AND table_name = 'mixed'");
    conflicts += Number(r!.n);
  }
  await Promise.all(daemons.map(stopDaemon));
  const rows = await count(dbs[0]!, 'bench.mixed');
  if (Number.isNaN(convergedMs)) throw new Error('mixed: the ezones did not converge within 120 s of the load stopping');
  say(`  ${sent} transactions, ${conflicts} conflicts resolved, identical ${convergedMs} ms after the load stopped (${rows} rows)`);
  return { txPerSec: Math.round(sent / ((stopped - t0) / 1000)), conflicts, convergedMs, rows, keys: MIXED_KEYS };
}
