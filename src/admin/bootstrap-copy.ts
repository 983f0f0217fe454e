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
import type { CopyApplier, StaleRivals } from '../model/ports.js';
import { selectList, typeOf } from '../model/types/row.js';
import { toWireRow, type Row } from '../model/value.js';
import { versionOf } from '../model/version.js';
import type { Logger } from '../ops/logger.js';
import { retryDelayMs } from '../pipeline/backoff.js';
import { classifyError } from '../pipeline/classify.js';
import { LowWaterMark, writeState, type TableState } from './bootstrap-state.js';
import type { PlannedTable } from './bootstrap-preflight.js';
import { removePaged, targetOnlyWhere, type TargetOnlyRemover } from './bootstrap-target-only.js';
import { sleep, type HexKey } from './verify-chunks.js';
import { formatTableName } from './verify-names.js';
import { keyBind, keyCompare, keyRead } from './verify-sql.js';

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

/** A chunk of a table without a version column: written under TARGET's journal (apply/copy-applier.ts). */
export interface VersionlessCopier {
  applyVersionlessChunk(changes: RowChange[], range: { sql: string; params: unknown[] }): Promise<{ written: number; skipped: number; journaled: number }>;
}

/**
 * The key range `(after, through]` of a chunk (undefined: open on that side), as SQL over the hex-bound
 * key, for the chunk's locking read in TARGET. A composite key's bounds are written out
 * lexicographically (`a > ? OR (a = ? AND b > ?)`): MariaDB reads a row constructor comparison
 * `(a, b) > (?, ?)` as a full index scan, and FOR UPDATE in REPEATABLE READ then locks the whole table.
 * Pure.
 */
export function chunkRange(p: PlannedTable, after: HexKey | undefined, through: HexKey | undefined): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const [bound, op] of [[after, '>'], [through, '<=']] as const) {
    if (!bound) continue;
    const b = lexicographic(p.table.pk, op, bound);
    parts.push(b.sql);
    params.push(...b.params);
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : 'TRUE', params };
}

/** `key op bound` over the columns of `pk` as a disjunction of prefix equalities: each term can use the index. Pure. */
export function lexicographic(pk: PlannedTable['table']['pk'], op: '>' | '<=', bound: HexKey): { sql: string; params: unknown[] } {
  if (pk.length === 1) return { sql: keyCompare(pk, op), params: [...bound] };
  const strict = op === '>' ? '>' : '<';
  const terms: string[] = [];
  const params: unknown[] = [];
  for (let i = 0; i < pk.length; i++) {
    const eq = pk.slice(0, i).map((c, j) => {
      params.push(bound[j]);
      return `${quoteId(c.name)} = ${keyBind(c)}`;
    });
    const c = pk[i]!;
    params.push(bound[i]);
    terms.push([...eq, `${quoteId(c.name)} ${i === pk.length - 1 ? op : strict} ${keyBind(c)}`].join(' AND '));
  }
  return { sql: `(${terms.map((t) => `(${t})`).join(' OR ')})`, params };
}

export interface CopyDeps {
  source: mysql.Pool;
  target: mysql.Pool;
  applier: CopyApplier & Partial<VersionlessCopier>;
  /** Whether the copy is held back (TARGET's lag): checked before each chunk is started. */
  throttle: { wait(): Promise<void> };
  log: Logger;
  onProgress?: (p: TableProgress) => void;
  /** Test seam: runs after a chunk is read from SOURCE and before it is written into TARGET. */
  beforeWrite?: (table: string, rows: Row[]) => Promise<void>;
  /** Rows only TARGET holds, removed chunk by chunk (bootstrap-target-only.ts); absent: kept. */
  targetOnly?: { remover: TargetOnlyRemover; horizon: (p: PlannedTable) => Promise<string | undefined> };
  /** How long a chunk's write is retried (chunkRetryBudgetMs); default: as for --max-lag-ms 0. */
  retryBudgetMs?: number;
}

interface Chunk {
  changes: RowChange[];
  rows: Row[];
  /** Every row's key (hex), and the last one. */
  keys: HexKey[];
  lastKey: HexKey;
}

export interface CopyCounts {
  written: number;
  skipped: number;
  chunks: number;
  /** Rows only TARGET held, removed (bootstrap-target-only.ts). */
  removed: number;
}

/** SOURCE's rows of `p` that `where` selects (all: none given), in key order, as copied changes, with their keys (hex). */
async function readRows(pool: Pick<mysql.Pool, 'query'>, p: PlannedTable, where: { sql: string; params: unknown[] } | undefined, limit?: number): Promise<{ changes: RowChange[]; rows: Row[]; keys: HexKey[] }> {
  const t = p.table;
  const written = t.columns.filter((c) => !c.generated).map((c) => c.name);
  const [raw] = await pool.query<mysql.RowDataPacket[]>(
    {
      sql: `SELECT ${t.pk.map(keyRead).join(', ')}, ${selectList(written, t.types, quoteId)} FROM ${tableRef(t.schema, t.table)}
            ${where ? `WHERE ${where.sql}` : ''} ORDER BY ${t.pk.map((c) => quoteId(c.name)).join(', ')}${limit === undefined ? '' : ' LIMIT ?'}`,
      rowsAsArray: true,
    },
    [...(where?.params ?? []), ...(limit === undefined ? [] : [limit])],
  );
  const arrays = raw as unknown as unknown[][];
  const n = t.pk.length;
  const rows = arrays.map((a) => toWireRow(Object.fromEntries(written.map((c, i) => [c, a[n + i]])), t.types));
  const vc = p.versionColumn;
  const versionType = vc === null ? undefined : typeOf(t.types, vc);
  const changes = rows.map((row): RowChange => {
    const version = vc === null ? undefined : versionOf(row[vc], versionType!);
    return {
      schema: t.schema,
      table: t.table,
      op: 'insert',
      key: Object.fromEntries(t.pk.map((c) => [c.name, row[c.name] ?? null])),
      after: row,
      // Checks on, parents copied first (bootstrap-order.ts): a child whose parent a concurrent delete
      // removed is decided by the apply path's rules (fk-parent-missing). Off on a cycle of keys, whose
      // orphans are decided again after the copy (bootstrap-target-only.ts removeOrphans).
      ...(p.cyclic ? { noFkChecks: true as const } : {}),
      ...(version !== undefined ? { version } : {}),
    };
  });
  return { changes, rows, keys: arrays.map((a) => a.slice(0, n).map(String)) };
}

async function readChunk(pool: mysql.Pool, p: PlannedTable, after: HexKey | undefined, limit: number): Promise<Chunk> {
  const read = await readRows(pool, p, after ? { sql: keyCompare(p.table.pk, '>'), params: after } : undefined, limit);
  return { ...read, lastKey: read.keys[read.keys.length - 1] ?? [] };
}

/** What a chunk of a re-seed needs to make TARGET's stale rivals give way (model/ports.ts StaleRivals). */
const staleRivals = (deps: CopyDeps, p: PlannedTable, horizon: string): StaleRivals => ({
  horizon,
  versionColumn: p.versionColumn!,
  sourceRows: async (where, params) => (await readRows(deps.source, p, { sql: where, params })).changes,
});

/** Copy one table from `state.doneThrough` on; resolves to this run's counts. */
export async function copyTable(deps: CopyDeps, p: PlannedTable, state: TableState, estimate: number | null, options: CopyOptions): Promise<CopyCounts> {
  const name = formatTableName(p.table);
  const mark = new LowWaterMark({ through: state.doneThrough, written: state.rowsCopied, skipped: state.rowsSkipped, chunks: state.chunks });
  const before = { written: mark.written, skipped: mark.skipped, chunks: mark.chunks };
  const queue = new PQueue({ concurrency: options.concurrency, intervalCap: options.maxChunksPerSecond, interval: 1000 });
  const startedAt = Date.now();
  let readThisRun = 0;
  let removed = 0;
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
    // SOURCE's knowledge, read before the chunk: what TARGET holds in its range and the chunk lacks is stale up to it.
    const horizon = p.timeVersioned ? await deps.targetOnly?.horizon(p) : undefined;
    const chunk = await readChunk(deps.source, p, after, options.chunkSize);
    const last = chunk.rows.length < options.chunkSize;
    const targetOnly = horizon === undefined ? undefined : targetOnlyWhere(p, after, last ? undefined : chunk.lastKey, chunk.keys);
    readThisRun += chunk.rows.length;
    const id = seq;
    const range = chunkRange(p, after, chunk.lastKey);
    const write = (): Promise<{ written: number; skipped: number }> => {
      if (p.versionColumn !== null) return deps.applier.applyChunk(chunk.changes, horizon === undefined ? undefined : staleRivals(deps, p, horizon));
      if (!deps.applier.applyVersionlessChunk) throw new UnexpectedError(`${name}: no version column, and this applier cannot copy under the journal`);
      return deps.applier.applyVersionlessChunk(chunk.changes, range);
    };
    queue
      .add(async () => {
        if (chunk.rows.length > 0) {
          await deps.beforeWrite?.(name, chunk.rows);
          const out = await withRetry(deps, name, write);
          if (targetOnly) removed += await withRetry(deps, name, () => removePaged(deps.target, deps.targetOnly!.remover, p, targetOnly, horizon!));
          if (mark.complete(id, chunk.lastKey, out.written, out.skipped)) await record();
          deps.onProgress?.({ table: name, written: mark.written, skipped: mark.skipped, readThisRun, startedAt, estimate });
        } else if (targetOnly) {
          removed += await withRetry(deps, name, () => removePaged(deps.target, deps.targetOnly!.remover, p, targetOnly, horizon!));
        }
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
  // Copied rows that lost a unique value, once more: a rival the re-seed removed since no longer beats them (copy-applier.ts retryLosers).
  const horizon = p.timeVersioned && p.versionColumn !== null && deps.applier.retryLosers ? await deps.targetOnly?.horizon(p) : undefined;
  if (horizon !== undefined) {
    const again = await withRetry(deps, name, () => deps.applier.retryLosers!(p.table.schema, p.table.table, staleRivals(deps, p, horizon)));
    mark.written += again.written;
    mark.skipped = Math.max(0, mark.skipped - again.written); // counted skipped when they lost
    if (again.written > 0) await record();
  }
  deps.log.info({ table: name, rows: mark.written - before.written, skipped: mark.skipped - before.skipped, removed, ms: Date.now() - startedAt }, 'bootstrap: table copied');
  return { written: mark.written - before.written, skipped: mark.skipped - before.skipped, chunks: mark.chunks - before.chunks, removed };
}

/**
 * A chunk's transaction, retried on what the catalogue calls transient (a deadlock with the stream's
 * applier, a lock wait, a dropped connection, a parent not here yet — inserted in SOURCE after its
 * table was copied, on TARGET's stream): the copy is idempotent, so a retry is always safe. At least
 * RETRIES attempts, and on for `retryBudgetMs` (chunkRetryBudgetMs: the apply lag the throttle allows,
 * plus ~30 s) — a parent on TARGET's stream may be that far behind.
 */
const RETRIES = 10;

/** How long a chunk's write is retried, given --max-lag-ms. Pure. */
export const chunkRetryBudgetMs = (maxLagMs: number): number => maxLagMs + 30_000;

/** Whether a chunk's write that failed `attempt` times over `elapsedMs` is tried again. Pure. */
export const retryAgain = (attempt: number, elapsedMs: number, budgetMs: number): boolean => attempt < RETRIES || elapsedMs < budgetMs;

async function withRetry<T>(deps: CopyDeps, table: string, write: () => Promise<T>): Promise<T> {
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const e = classifyError(err, { table });
      if (!e.retryable || e instanceof UnexpectedError || !retryAgain(attempt, Date.now() - start, deps.retryBudgetMs ?? chunkRetryBudgetMs(0))) throw e;
      deps.log.warn({ table, code: e.code, attempt }, 'bootstrap: a chunk write failed, retrying it');
      await sleep(retryDelayMs(attempt, 200, 5_000));
    }
  }
}
