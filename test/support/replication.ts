import type mysql from 'mysql2/promise';
import { startDaemon, type Daemon } from '../../src/daemon/wiring.js';
import { toWireRow } from '../../src/model/value.js';
import type { Scenario } from './scenario.js';
import { testLogger } from './test-logger.js';

const log = testLogger();

/** In-process daemons for the given ezones of a scenario. */
export async function startDaemons(s: Scenario, ezones: string[], options: { routingRefreshMs?: number } = {}): Promise<Daemon[]> {
  const started: Daemon[] = [];
  for (const ez of ezones) started.push(await startDaemon(s.config, ez, log.child({ ezone: ez }), options));
  return started;
}

export async function stopDaemons(daemons: Daemon[]): Promise<void> {
  await Promise.all(daemons.splice(0).map((d) => d.close()));
}

/** A table's full contents, ordered by primary key, as comparable text. */
export async function contents(conn: mysql.Connection, table: string): Promise<string> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT * FROM ${table} ORDER BY 1`);
  return JSON.stringify(rows.map((r) => toWireRow(r)));
}

/** Wait until the table is identical in every listed ezone (and, if given, has `rows` rows). */
export async function converge(s: Scenario, table: string, ezones: string[], options: { rows?: number; timeoutMs?: number } = {}): Promise<string> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: string[] = [];
  for (;;) {
    last = await Promise.all(ezones.map((e) => contents(s.db[e]!, table)));
    const same = last.every((c) => c === last[0]);
    const count = (JSON.parse(last[0] ?? '[]') as unknown[]).length;
    if (same && (options.rows === undefined || count === options.rows)) return last[0] as string;
    if (Date.now() > deadline) {
      const conflicts = await Promise.all(
        ezones.map(async (e) => {
          const [rows] = await s.db[e]!.query<mysql.RowDataPacket[]>(
            'SELECT detected_at, origin, key_json, reason, decision, incoming_version, local_version, incoming_image, local_image FROM drc_meta.conflicts WHERE schema_name = ? AND table_name = ? ORDER BY id',
            [s.schema, table],
          );
          return `${e}: ${rows.map((r) => JSON.stringify(r)).join('\n   ')}`;
        }),
      );
      throw new Error(
        `${table} did not converge across ${ezones.join(', ')}:\n${ezones.map((e, i) => `${e}: ${(last[i] ?? '').slice(0, 2000)}`).join('\n')}\nconflicts:\n${conflicts.join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface ConflictRow {
  ezone: string;
  origin: string;
  table_name: string;
  key_json: string;
  reason: string;
  decision: string;
}

/** Conflict records of the scenario's schema in one ezone. */
export async function conflictsIn(s: Scenario, ezone: string): Promise<ConflictRow[]> {
  const [rows] = await s.db[ezone]!.query<mysql.RowDataPacket[]>(
    'SELECT ezone, origin, table_name, key_json, reason, decision FROM drc_meta.conflicts WHERE schema_name = ? ORDER BY id',
    [s.schema],
  );
  return rows as ConflictRow[];
}
