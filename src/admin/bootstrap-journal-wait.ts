/**
 * `drc bootstrap` of tables without a version column (README "Adding an ezone": tables without a
 * version column): register them in TARGET's drc_meta.bootstrap_journal and wait until TARGET's
 * capture acknowledges journaling them (db/bootstrap-journal.ts), before the start point is chosen;
 * forget their journal once they are verified.
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { forgetJournal, registerJournal, registeredTables } from '../db/bootstrap-journal.js';
import { tableKey } from '../db/key-identity.js';
import { CheckFailedError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { PlannedTable } from './bootstrap-preflight.js';
import { readStates, stateKey } from './bootstrap-state.js';
import { sleep } from './verify-chunks.js';
import { formatTableName } from './verify-names.js';

const names = (tables: PlannedTable[]) => tables.filter((p) => p.versionColumn === null).map((p) => ({ schema: p.table.schema, table: p.table.table }));

/**
 * Register the tables without a version column (a fresh run forgets an earlier journal of them
 * first; `--resume` keeps it) and wait, up to `waitStreamMs`, until TARGET's capture has acknowledged
 * every one. Throws CheckFailedError naming the fix when it does not.
 */
export async function journalVersionless(config: Config, ezones: { from: string; to: string }, pools: { source: mysql.Pool; target: mysql.Pool }, tables: PlannedTable[], options: { resume: boolean; waitStreamMs: number }, log: Logger): Promise<void> {
  const { from, to } = ezones;
  const { source, target } = pools;
  const wanted = names(tables);
  if (wanted.length === 0) return;
  const stuck = options.resume ? (await registeredTables(target)).filter((e) => e.forget && wanted.some((t) => tableKey(t) === tableKey(e))) : await forgetJournal(target, wanted, options.waitStreamMs);
  if (stuck.length > 0) {
    throw new CheckFailedError(
      `ezone ${to}'s capture has not stopped journaling ${stuck.map(formatTableName).join(', ')} (drc_meta.bootstrap_journal.forget = 1, dropped_from still NULL or not yet covered), so its journal cannot be started again — is ${to}'s daemon running this version of drc (drc run --config F --ezone ${to})? then run bootstrap again with --restart`,
    );
  }
  await registerJournal(target, wanted);
  const deadline = Date.now() + Math.max(options.waitStreamMs, 5_000, 3 * config.heartbeat.interval);
  for (;;) {
    const acked = new Set((await registeredTables(target)).filter((e) => e.ackedFrom !== undefined && !e.forget).map(tableKey));
    const missing = wanted.filter((t) => !acked.has(tableKey(t)));
    if (missing.length === 0) break;
    if (Date.now() > deadline) {
      throw new CheckFailedError(
        `ezone ${to}'s capture did not start journaling ${missing.map(formatTableName).join(', ')} (no version column: copied only under that journal; drc_meta.bootstrap_journal.acked_from still NULL) — is ${to}'s daemon running this version of drc (drc run --config F --ezone ${to})? then run bootstrap again (--resume)`,
      );
    }
    await sleep(200);
  }
  // TARGET's own writes committed before the journal began are not journaled: SOURCE must hold them
  // before any chunk is read. A heartbeat TARGET writes after now follows them in its stream.
  const written = async (pool: mysql.Pool, sql: string) => {
    const [rows] = await pool.query<mysql.RowDataPacket[]>(sql, [to]);
    return rows[0] ? String(rows[0].t) : undefined;
  };
  const heartbeat = "SELECT DATE_FORMAT(sent_at, '%Y-%m-%d %H:%i:%s.%f') AS t FROM drc_meta.heartbeat WHERE ezone = ?";
  const applied = "SELECT DATE_FORMAT(sent_at, '%Y-%m-%d %H:%i:%s.%f') AS t FROM drc_meta.lag WHERE origin = ?";
  const before = await written(target, heartbeat);
  let after: string | undefined;
  for (;;) {
    after ??= await written(target, heartbeat).then((t) => (t !== undefined && t !== before ? t : undefined));
    const there = after === undefined ? undefined : await written(source, applied);
    if (after !== undefined && there !== undefined && there >= after) break;
    if (Date.now() > deadline) {
      throw new CheckFailedError(
        `ezone ${from} has not applied ${to}'s writes up to a heartbeat ${to} wrote after its journal began (${after === undefined ? `no new heartbeat of ${to}` : `${from} is at ${there ?? 'nothing'}, ${to} wrote ${after}`}) — a write of ${to} the copy would overwrite; wait until ${from}'s daemon catches up with ${to} (drc lag) and run bootstrap again`,
      );
    }
    await sleep(200);
  }
  log.info({ tables: wanted.map(formatTableName), ezone: to, heartbeatMs: config.heartbeat.interval }, 'bootstrap: the target journals every change of the tables without a version column');
}

/** Forget the journal of the tables without a version column that ended verified. */
export async function forgetVerifiedJournal(target: mysql.Pool, tables: PlannedTable[], log: Logger): Promise<void> {
  const wanted = names(tables);
  if (wanted.length === 0) return;
  const states = await readStates(target, wanted);
  const unanswered = await forgetJournal(target, wanted.filter((t) => states.get(stateKey(t))?.status === 'verified'));
  if (unanswered.length > 0) {
    log.warn({ tables: unanswered.map(formatTableName) }, "bootstrap: the target's capture did not stop journaling these tables in time: they stay asked to be forgotten (capture stops when it runs; the next bootstrap --restart deletes their keys)");
  }
}
