/**
 * One table's copy for `drc bootstrap`: keyset pagination over SOURCE's primary key (one plain
 * consistent read per chunk, no lock, no long transaction), each chunk written into TARGET through the
 * CopyApplier port, at most `concurrency` chunks in flight and `maxChunksPerSecond` started, the whole
 * queue paused while TARGET's apply lag is over `maxLagMs` (collected in the background, the loop reads
 * one flag). Progress is recorded as a low-water mark in TARGET's drc_meta.bootstrap after each chunk.
 */
import type mysql from 'mysql2/promise';
import PQueue from 'p-queue';
import { quoteId, tableRef } from '../db/sql.js';
import type { RowChange } from '../model/change.js';
import { UnexpectedError } from '../errors.js';
import type { CopyApplier, CopyOutcome } from '../model/ports.js';
import { selectList, typeOf } from '../model/types/row.js';
import { toWireRow, type Row } from '../model/value.js';
import { versionOf } from '../model/version.js';
import type { Logger } from '../ops/logger.js';
import { retryDelayMs } from '../pipeline/backoff.js';
import { classifyError } from '../pipeline/classify.js';
import { LowWaterMark, writeState, type TableState } from './bootstrap-state.js';
import type { PlannedTable } from './bootstrap-preflight.js';
import { sleep, type HexKey } from './verify-chunks.js';
import { formatTableName } from './verify-names.js';
import { keyCompare, keyRead } from './verify-sql.js';

export interface CopyOptions {
  chunkSize: number;
  concurrency: number;
  maxChunksPerSecond: number;
}

/** Progress of one table, after every chunk. */
export interface TableProgress {
  table: string;
  /** Rows written (or already identical) and rows that lost, over every run. */
  written: number;
  skipped: number;
  /** Rows read this run, and when this run's copy of the table began (ms). */
  readThisRun: number;
  startedAt: number;
  estimate: number | null;
}

export interface CopyDeps {
  source: mysql.Pool;
  target: mysql.Pool;
  applier: CopyApplier;
  /** Whether the copy is held back (TARGET's lag): checked before each chunk is started. */
  throttle: { wait(): Promise<void> };
  log: Logger;
  onProgress?: (p: TableProgress) => void;
  /** Test seam: runs after a chunk is read from SOURCE and before it is written into TARGET. */
  beforeWrite?: (table: string, rows: Row[]) => Promise<void>;
}

interface Chunk {
  changes: RowChange[];
  rows: Row[];
  lastKey: HexKey;
}

async function readChunk(pool: mysql.Pool, p: PlannedTable, after: HexKey | undefined, limit: number): Promise<Chunk> {
  const t = p.table;
  const written = t.columns.filter((c) => !c.generated).map((c) => c.name);
  const [raw] = await pool.query<mysql.RowDataPacket[]>(
    {
      sql: `SELECT ${t.pk.map(keyRead).join(', ')}, ${selectList(written, t.types, quoteId)} FROM ${tableRef(t.schema, t.table)}
            ${after ? `WHERE ${keyCompare(t.pk, '>')}` : ''} ORDER BY ${t.pk.map((c) => quoteId(c.name)).join(', ')} LIMIT ?`,
      rowsAsArray: true,
    },
    [...(after ?? []), limit],
  );
  const arrays = raw as unknown as unknown[][];
  const n = t.pk.length;
  const rows = arrays.map((a) => toWireRow(Object.fromEntries(written.map((c, i) => [c, a[n + i]])), t.types));
  const versionType = typeOf(t.types, p.versionColumn);
  const changes = rows.map((row): RowChange => {
    const version = versionOf(row[p.versionColumn], versionType);
    return {
      schema: t.schema,
      table: t.table,
      op: 'insert',
      key: Object.fromEntries(t.pk.map((c) => [c.name, row[c.name] ?? null])),
      after: row,
      // FK checks stay on (tables declaring foreign keys are refused, bootstrap-preflight.ts).
      ...(version !== undefined ? { version } : {}),
    };
  });
  const last = arrays[arrays.length - 1];
  return { changes, rows, lastKey: last ? last.slice(0, n).map(String) : [] };
}

/** Copy one table from `state.doneThrough` on; resolves to this run's counts. */
export async function copyTable(deps: CopyDeps, p: PlannedTable, state: TableState, estimate: number | null, options: CopyOptions): Promise<{ written: number; skipped: number; chunks: number }> {
  const name = formatTableName(p.table);
  const mark = new LowWaterMark({ through: state.doneThrough, written: state.rowsCopied, skipped: state.rowsSkipped, chunks: state.chunks });
  const before = { written: mark.written, skipped: mark.skipped, chunks: mark.chunks };
  const queue = new PQueue({ concurrency: options.concurrency, intervalCap: options.maxChunksPerSecond, interval: 1000 });
  const startedAt = Date.now();
  let readThisRun = 0;
  let failure: unknown;
  let recorded: Promise<void> = Promise.resolve();
  const record = () => {
    const snapshot: TableState = { ...state, doneThrough: mark.through, rowsCopied: mark.written, rowsSkipped: mark.skipped, chunks: mark.chunks };
    recorded = recorded.then(() => writeState(deps.target, snapshot, null)); // in order: a later mark never lands before an earlier one
    return recorded;
  };
  let after = state.doneThrough;
  for (let seq = 0; failure === undefined; seq++) {
    await queue.onSizeLessThan(options.concurrency);
    try {
      await deps.throttle.wait();
    } catch (err) {
      failure = err; // held too long: let the chunks in flight land, then fail
      break;
    }
    const chunk = await readChunk(deps.source, p, after, options.chunkSize);
    if (chunk.rows.length === 0) break;
    readThisRun += chunk.rows.length;
    const id = seq;
    queue
      .add(async () => {
        await deps.beforeWrite?.(name, chunk.rows);
        const out = await applyWithRetry(deps, name, chunk.changes);
        if (mark.complete(id, chunk.lastKey, out.written, out.skipped)) await record();
        deps.onProgress?.({ table: name, written: mark.written, skipped: mark.skipped, readThisRun, startedAt, estimate });
      })
      .catch((err: unknown) => {
        failure ??= err;
        queue.clear();
      });
    if (chunk.rows.length < options.chunkSize) break;
    after = chunk.lastKey;
  }
  await queue.onIdle();
  await recorded;
  if (failure !== undefined) throw failure;
  deps.log.info({ table: name, rows: mark.written - before.written, skipped: mark.skipped - before.skipped, ms: Date.now() - startedAt }, 'bootstrap: table copied');
  return { written: mark.written - before.written, skipped: mark.skipped - before.skipped, chunks: mark.chunks - before.chunks };
}

/**
 * A chunk's transaction, retried on what the catalogue calls transient (a deadlock with the stream's
 * applier, a lock wait, a dropped connection): the copy is idempotent, so a retry is always safe.
 */
async function applyWithRetry(deps: CopyDeps, table: string, changes: RowChange[]): Promise<CopyOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.applier.applyChunk(changes);
    } catch (err) {
      const e = classifyError(err, { table });
      if (!e.retryable || e instanceof UnexpectedError || attempt >= 6) throw e;
      deps.log.warn({ table, code: e.code, attempt }, 'bootstrap: a chunk write failed, retrying it');
      await sleep(retryDelayMs(attempt, 200, 5_000));
    }
  }
}
