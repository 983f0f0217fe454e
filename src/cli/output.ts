/** Command output: one JSON document, or an aligned table, on stdout. */

export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

export type Row = Record<string, string | number | boolean | null | undefined>;

/** Render rows as an aligned plain-text table with the given columns (header = column name). */
export function formatTable(rows: Row[], columns: string[]): string {
  const cells = [columns, ...rows.map((r) => columns.map((c) => formatCell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  return cells.map((line) => line.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function printTable(rows: Row[], columns: string[]): void {
  process.stdout.write(`${formatTable(rows, columns)}\n`);
}

function formatCell(v: Row[string]): string {
  if (v === null || v === undefined) return '-';
  return String(v);
}

/** The exit codes every command shares, for `--help` (DESIGN.md section 9, plus 3). */
export const EXIT_CODES_HELP = `
Exit codes: 0 ok · 1 a check failed or differences found · 2 bad usage or config · 3 a server could not be reached`;
