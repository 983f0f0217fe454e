/**
 * `drc quarantine list|retry|drop`: the source transactions an ezone's applier set aside under
 * `apply.onError: quarantine` (drc_meta.quarantine, written by apply/quarantine.ts).
 *
 * - list: every record (or those of one ezone / one id), newest first, without the stored images;
 * - retry: apply the transaction again once its cause is fixed, through the apply path (handed in as
 *   a port, like verify's repairs: admin/ imports no stage); the record is marked applied in the same
 *   database transaction, or keeps its state and records why the retry failed (redacted);
 * - drop: give up on it, recorded (state `dropped`, when, and the operator's reason).
 */
import type mysql from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import { createPool } from '../db/connect.js';
import { isNoSuchTable } from '../db/mysql-errors.js';
import { CheckFailedError, UnreachableError, UsageError } from '../errors.js';
import { classifyError } from '../pipeline/classify.js';
import { unreachableMessage } from './unreachable.js';

export type QuarantineState = 'quarantined' | 'applied' | 'dropped';

/** One record, as `drc quarantine list --json` prints it. */
export interface QuarantineEntry {
  id: number;
  /** The ezone whose applier set it aside (where it must be applied). */
  ezone: string;
  origin: string;
  txId: string;
  /** Origin binlog position after the transaction. */
  position: string;
  /** Where it was read: the changes topic, partition and offset. */
  kafka: { topic: string; partition: number; offset: string };
  tables: string[];
  /** How many row changes it holds (their keys may diverge until it is retried or dropped). */
  changes: number;
  code: string;
  /** Redacted: no row values. */
  message: string;
  at: string;
  state: QuarantineState;
  resolvedAt: string | null;
  resolution: string | null;
}

/** The apply path's transaction-level entry point (apply/quarantine-retry.ts), handed in by the CLI. */
export interface QuarantineApplier {
  retry(id: number, message: Buffer): Promise<void>;
}
export type QuarantineApplierFactory = (ezone: string, pool: mysql.Pool) => Promise<QuarantineApplier>;

const COLUMNS = `id, origin, origin_tx, origin_pos, kafka_topic, kafka_partition, kafka_offset, tables_json, JSON_LENGTH(keys_json) AS changes,
  error_code, error_message, quarantined_at, state, resolved_at, resolution`;

const iso = (v: unknown) => (v === null || v === undefined ? null : `${String(v).replace(' ', 'T')}Z`);

function entryOf(ezone: string, r: mysql.RowDataPacket): QuarantineEntry {
  return {
    id: Number(r.id),
    ezone,
    origin: String(r.origin),
    txId: String(r.origin_tx),
    position: String(r.origin_pos),
    kafka: { topic: String(r.kafka_topic), partition: Number(r.kafka_partition), offset: String(r.kafka_offset) },
    tables: JSON.parse(String(r.tables_json)) as string[],
    changes: Number(r.changes),
    code: String(r.error_code),
    message: String(r.error_message),
    at: iso(r.quarantined_at)!,
    state: String(r.state) as QuarantineState,
    resolvedAt: iso(r.resolved_at),
    resolution: r.resolution === null ? null : String(r.resolution),
  };
}

/** A pool on one ezone's database that answered, or UnreachableError. */
async function reach(config: Config, ezone: string): Promise<mysql.Pool> {
  const ez = config.ezones[ezone]!;
  // A retry writes replicated rows: an apply session (sql_mode, and the mark guarded triggers skip).
  const pool = createPool(ez.mysql, 2, { multipleStatements: true, apply: true });
  try {
    await pool.query('SELECT 1');
    return pool;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new UnreachableError(unreachableMessage(ezone, ez.mysql, err), { cause: err });
  }
}

async function select(pool: mysql.Pool, ezone: string, id?: number): Promise<QuarantineEntry[]> {
  try {
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      `SELECT ${COLUMNS} FROM drc_meta.quarantine ${id === undefined ? '' : 'WHERE id = ?'} ORDER BY id DESC`,
      id === undefined ? [] : [id],
    );
    return rows.map((r) => entryOf(ezone, r));
  } catch (err) {
    if (isNoSuchTable(err)) return []; // no daemon of this version ran here yet: nothing was quarantined
    throw err;
  }
}

/**
 * The records of every ezone (or `only`), newest first; `unreachable` names the ezones that could
 * not be read (the CLI prints what it has, then exits 3).
 */
export async function listQuarantine(config: Config, options: { ezone?: string; id?: number } = {}): Promise<{ quarantined: QuarantineEntry[]; unreachable: string[] }> {
  const quarantined: QuarantineEntry[] = [];
  const unreachable: string[] = [];
  for (const ezone of options.ezone ? [options.ezone] : Object.keys(config.ezones)) {
    let pool: mysql.Pool;
    try {
      pool = await reach(config, ezone);
    } catch (err) {
      unreachable.push((err as Error).message);
      continue;
    }
    try {
      quarantined.push(...(await select(pool, ezone, options.id)));
    } finally {
      await pool.end();
    }
  }
  return { quarantined, unreachable };
}

/** The open record `id` of `ezone`, or a usage error saying why there is none. */
async function openRecord(pool: mysql.Pool, ezone: string, id: number): Promise<QuarantineEntry> {
  const [entry] = await select(pool, ezone, id);
  if (!entry) throw new UsageError(`ezone ${ezone} has no quarantined transaction ${id} — see drc quarantine list`);
  if (entry.state !== 'quarantined') throw new UsageError(`quarantined transaction ${id} in ezone ${ezone} is already ${entry.state}`);
  return entry;
}

/**
 * Apply record `id` of `ezone` again (once its cause is fixed). Throws CheckFailedError (exit 1) with
 * the target's redacted reason when it fails again; that reason is recorded with the record.
 */
export async function retryQuarantined(config: Config, ezone: string, id: number, applierFor: QuarantineApplierFactory): Promise<QuarantineEntry> {
  const pool = await reach(config, ezone);
  try {
    await openRecord(pool, ezone, id);
    const [[row]] = await pool.query<mysql.RowDataPacket[]>('SELECT message FROM drc_meta.quarantine WHERE id = ?', [id]);
    const applier = await applierFor(ezone, pool);
    try {
      await applier.retry(id, row!.message as Buffer);
    } catch (err) {
      const e = classifyError(err);
      const reason = `${e.code} ${e.message}`;
      await pool.query('UPDATE drc_meta.quarantine SET resolution = ? WHERE id = ?', [`retry failed at ${new Date().toISOString()}: ${reason}`.slice(0, 4000), id]);
      throw new CheckFailedError(`quarantined transaction ${id} in ezone ${ezone} still fails: ${reason}`, { cause: err });
    }
    return (await select(pool, ezone, id))[0]!;
  } finally {
    await pool.end();
  }
}

/** Give up on record `id` of `ezone`: marked dropped, with when and why (the keys it wrote may differ between ezones). */
export async function dropQuarantined(config: Config, ezone: string, id: number, reason = 'dropped by the operator'): Promise<QuarantineEntry> {
  const pool = await reach(config, ezone);
  try {
    await openRecord(pool, ezone, id);
    const [result] = await pool.query<mysql.ResultSetHeader>(
      "UPDATE drc_meta.quarantine SET state = 'dropped', resolved_at = UTC_TIMESTAMP(6), resolution = ? WHERE id = ? AND state = 'quarantined'",
      [reason.slice(0, 4000), id],
    );
    if (result.affectedRows !== 1) throw new UsageError(`quarantined transaction ${id} in ezone ${ezone} changed meanwhile — list it again`);
    return (await select(pool, ezone, id))[0]!;
  } finally {
    await pool.end();
  }
}
