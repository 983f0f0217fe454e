/**
 * Byte-level convergence checks across ezones: `CHECKSUM TABLE` of every listed table in every
 * ezone, waited on until they agree, and a failure message that says which tables differ, their row
 * counts, and what each daemon's `/healthz` said (a paused stream is named there).
 */
import type mysql from 'mysql2/promise';
import type { DaemonProcess } from './daemon-process.js';
import type { Scenario } from './scenario.js';
import { WaitTimeout, waitFor } from './wait.js';

/** `CHECKSUM TABLE` of each table (in the connection's default schema), by table name. */
export async function checksums(conn: mysql.Connection, tables: readonly string[]): Promise<Record<string, string>> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${tables.map((t) => `\`${t}\``).join(', ')}`);
  const out: Record<string, string> = {};
  for (const [i, row] of rows.entries()) out[tables[i]!] = String(row.Checksum);
  return out;
}

/** Row counts of each table, by table name. */
export async function rowCounts(conn: mysql.Connection, tables: readonly string[]): Promise<Record<string, number>> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(tables.map((t) => `SELECT '${t}' AS t, COUNT(*) AS n FROM \`${t}\``).join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [String(r.t), Number(r.n)]));
}

/** The tables whose checksums differ between the first ezone and another. */
function differing(sums: Record<string, string>[], tables: readonly string[]): string[] {
  return tables.filter((t) => sums.some((s) => s[t] !== sums[0]![t]));
}

/**
 * Wait until every table's `CHECKSUM TABLE` is the same in every listed ezone; resolves to the
 * checksums. On timeout, or as soon as a daemon's `/healthz` names a paused stream: the differing
 * tables with each ezone's row count, and each daemon's health.
 */
export async function sameChecksums(
  s: Scenario,
  ezones: readonly string[],
  tables: readonly string[],
  options: { timeoutMs?: number; daemons?: DaemonProcess[]; what?: string } = {},
): Promise<Record<string, string>> {
  // A paused stream has failed for the whole give-up window already: stop waiting, say so.
  let paused: string | undefined;
  let healthAt = 0;
  const check = async () => {
    if (Date.now() - healthAt > 2000) {
      healthAt = Date.now();
      for (const d of options.daemons ?? []) {
        const h = await d.health().catch(() => undefined);
        paused ??= h?.problems.find((p) => p.includes('is paused'));
      }
    }
    return Promise.all(ezones.map((ez) => checksums(s.db[ez]!, tables)));
  };
  try {
    const sums = await waitFor(check, {
      what: options.what ?? `CHECKSUM TABLE equal in ${ezones.join(', ')} for ${tables.join(', ')}`,
      until: (all) => differing(all, tables).length === 0,
      timeoutMs: options.timeoutMs ?? 60_000,
      intervalMs: 250,
      abort: () => (paused ? `a stream paused (${paused})` : undefined),
    });
    return sums[0]!;
  } catch (err) {
    if (!(err instanceof WaitTimeout)) throw err;
    const sums = await Promise.all(ezones.map((ez) => checksums(s.db[ez]!, tables)));
    const bad = differing(sums, tables);
    const counts = await Promise.all(ezones.map((ez) => rowCounts(s.db[ez]!, bad.length > 0 ? bad : tables)));
    const health = await Promise.all(
      (options.daemons ?? []).map(async (d) => {
        const h = await d.health().catch((e: unknown) => ({ error: String(e) }));
        return `pid ${d.pid}: ${JSON.stringify(h)}`;
      }),
    );
    const apart = await rowsApart(s, ezones, bad);
    throw new Error(
      `${err.message.split('; last')[0]}\ntables differing: ${bad.join(', ')}\n` +
        ezones.map((ez, i) => `${ez}: rows ${JSON.stringify(counts[i])}`).join('\n') +
        (apart.length > 0 ? `\nrows not in every ezone (schema ${s.schema}):\n${apart.join('\n')}` : '') +
        (health.length > 0 ? `\nhealth:\n${health.join('\n')}` : ''),
    );
  }
}

/** The rows of each table that some ezone lacks, as `table ezones-holding-it: row` lines (at most 40). */
async function rowsApart(s: Scenario, ezones: readonly string[], tables: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const t of tables) {
    const held = new Map<string, string[]>();
    for (const ez of ezones) {
      const [rows] = await s.db[ez]!.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${t}\` ORDER BY 1`);
      for (const r of rows) {
        const text = JSON.stringify(r);
        held.set(text, [...(held.get(text) ?? []), ez]);
      }
    }
    for (const [text, where] of held) if (where.length < ezones.length) out.push(`${t} in ${where.join(',')}: ${text}`);
  }
  return out.slice(0, 40);
}
