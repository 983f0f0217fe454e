/**
 * `apply.onError: quarantine` (issue 12, "nothing stalls silently"): a source transaction the target
 * rejects for a deterministic reason is set aside, whole, so its origin's stream goes on.
 *
 * - Which failures qualify is decided here, by error class and code (never message text):
 *   deterministic ones about the transaction's own data (a value the target cannot store, a key
 *   collision nothing resolved, any other server error). A schema the target lacks, a missing table
 *   or grant is not the transaction's fault — every later one would fail too — so those keep pausing.
 * - Set aside means: its message goes to the dead-letter topic, and a drc_meta.quarantine record
 *   (with the message, for `drc quarantine retry`) is written **in the same database transaction** as
 *   the applied position moving past it: exactly-once, a crash replays neither or both.
 *
 * The dead-letter message is published before that commit: after a crash in between it may appear
 * twice on the topic (at least once); drc_meta.quarantine is the record of truth.
 */
import { classifyError } from '../pipeline/classify.js';
import { ErrorCode, type DrcError } from '../errors.js';
import type { TxChunk } from '../model/envelope.js';
import type { StoredMessage } from '../model/ports.js';
import type { DeferredStatement } from '../db/sql.js';
import type { Logger } from '../ops/logger.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { ApplyPool } from './connection.js';

/** Deterministic, but not the transaction's fault: the stream pauses until the schema or grants are fixed. */
const PAUSE_ANYWAY = new Set<string>([ErrorCode.schemaMismatch, ErrorCode.noSuchTable, ErrorCode.noSuchColumn, ErrorCode.accessDenied, ErrorCode.applyStale]);

/**
 * The failure as a DrcError when it may quarantine the transaction that caused it: neither retryable
 * nor fatal (the same input fails the same way) and about the data, not the schema. Pure.
 */
export function quarantinable(err: unknown): DrcError | undefined {
  const e = classifyError(err);
  if (e.retryable || e.fatal || PAUSE_ANYWAY.has(e.code)) return undefined;
  return e;
}

/** One source transaction of a group, with the offset of its message. */
export interface QueuedTx {
  chunk: TxChunk;
  offset: string;
}

/** What a quarantine record says about a transaction, besides the message itself. Pure. */
export function describeTx(chunk: TxChunk): { tables: string[]; keys: { table: string; key: unknown }[] } {
  const tables = [...new Set(chunk.changes.map((c) => `${c.schema}.${c.table}`))];
  // A primary-key change writes two keys: both are listed.
  const keys = chunk.changes.flatMap((c) => [...(c.oldKey ? [{ table: `${c.schema}.${c.table}`, key: c.oldKey }] : []), { table: `${c.schema}.${c.table}`, key: c.key }]);
  return { tables, keys };
}

export interface QuarantineDeps {
  pool: ApplyPool;
  checkpoint: CheckpointStore;
  origin: string;
  /** The changes topic the transaction was read from (recorded with its offset). */
  topic: string;
  log: Logger;
  /** Publish to this ezone's dead-letter topic. */
  deadLetter(m: StoredMessage, reason: string): Promise<void>;
  /** The leader check (as in every target transaction): a replaced daemon must not move the position. */
  fence?: { statement(): DeferredStatement };
}

export class Quarantine {
  constructor(private readonly deps: QuarantineDeps) {}

  /**
   * Set `tx` aside for `err` and move the applied position to `nextOffset`, in one database
   * transaction. Call only in commit order (everything before `tx` committed).
   */
  async put(tx: QueuedTx, nextOffset: string, err: DrcError): Promise<void> {
    const { deps } = this;
    const { chunk } = tx;
    const message = Buffer.from(JSON.stringify(chunk));
    const { tables, keys } = describeTx(chunk);
    await deps.deadLetter({ offset: tx.offset, key: deps.origin, value: message }, `quarantined: ${err.code}`);
    const conn = await deps.pool.getConnection();
    try {
      const position = deps.checkpoint.statement(nextOffset, chunk.id, chunk.pos);
      await conn.query('BEGIN');
      const fence = deps.fence?.statement();
      if (fence) fence.check?.((await conn.query(fence.sql, fence.params))[0]);
      await conn.query(
        `INSERT INTO drc_meta.quarantine (origin, origin_tx, origin_pos, kafka_topic, kafka_partition, kafka_offset, tables_json, keys_json, error_code, error_message, message, quarantined_at, state)
         VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), 'quarantined')`,
        [deps.origin, chunk.id, chunk.pos, deps.topic, tx.offset, JSON.stringify(tables), JSON.stringify(keys), err.code, err.message.slice(0, 4000), message],
      );
      await conn.query(position.sql, position.params);
      await conn.query('COMMIT');
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      conn.release();
    }
    deps.log.error(
      { code: err.code, ...err.context, txId: chunk.id, position: chunk.pos, offset: tx.offset, tables: tables.join(','), err: err.message },
      'source transaction quarantined (apply.onError: quarantine): the stream goes on; see drc quarantine list',
    );
  }
}
