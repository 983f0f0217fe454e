/** Human progress of `drc bootstrap` (one line per table on a terminal). Pure formatting. */
import type { TableProgress } from './bootstrap-copy.js';

const count = (n: number) => Math.round(n).toLocaleString('en-US');

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** `db.t  45,000 / ~120,000 rows  9,800 rows/s  ETA 8 s` (`now` in ms). */
export function formatProgress(p: TableProgress, now: number): string {
  const done = p.written + p.skipped;
  const seconds = Math.max(0.001, (now - p.startedAt) / 1000);
  const rate = p.readThisRun / seconds;
  const total = p.estimate !== null && p.estimate > done ? ` / ~${count(p.estimate)}` : '';
  const eta = p.estimate !== null && p.estimate > done && rate > 0 ? `  ETA ${duration((p.estimate - done) / rate)}` : '';
  return `${p.table}  ${count(done)}${total} rows  ${count(rate)} rows/s${eta}`;
}
