/**
 * TEST SUPPORT: a database connection (and pool) that records every round trip — the SQL and the
 * parameters of each statement — and answers from a script instead of a server. Unit tests of the
 * apply path use it to assert what is sent and in which round trip, without MariaDB.
 *
 * A round trip is one `query` call; its statements are split at `;\n` (how PipelinedSession joins
 * them) and its parameters by the number of `?` in each statement. The script answers statement by
 * statement; an Error it returns (or throws) fails the round trip there, as a server would: the
 * statements after it do not run (they are recorded as sent, with `ran: false`).
 */
import type { QueryConnection } from './pipelined-session.js';

export interface RecordedStatement {
  sql: string;
  params: unknown[];
  /** False for statements after the one that failed in the same round trip. */
  ran: boolean;
}

/** One statement, as the script sees it, with the connection it came on. */
export interface ScriptedCall {
  sql: string;
  params: unknown[];
  connection: number;
}

/**
 * Rows (an array), a result header, or an Error to fail the round trip with (or a promise of one, to
 * hold the round trip back). Undefined: an OK packet.
 */
export type Script = (call: ScriptedCall) => unknown;

export const ok = { affectedRows: 1, insertId: 0, warningStatus: 0 };

/** An error as mysql2 reports it: `errno` and `code` set. */
export function driverError(errno: number, code: string, message = code): Error {
  return Object.assign(new Error(message), { errno, code });
}

export class RecordingConnection implements QueryConnection {
  /** Every round trip on this connection, in order. */
  readonly trips: RecordedStatement[][] = [];
  released = false;

  constructor(
    private readonly script: Script,
    readonly id = 0,
    private readonly log?: RecordedStatement[][],
  ) {}

  async query(sql: string, params: unknown[] = []): Promise<[unknown, unknown]> {
    const parts = sql.split(';\n');
    let offset = 0;
    const trip: RecordedStatement[] = parts.map((part) => {
      const n = (part.match(/\?/g) ?? []).length;
      offset += n;
      return { sql: part, params: params.slice(offset - n, offset), ran: true };
    });
    this.trips.push(trip);
    this.log?.push(trip);
    await Promise.resolve(); // answers are asynchronous, as a server's are
    const results: unknown[] = [];
    for (const [i, statement] of trip.entries()) {
      let answer: unknown;
      try {
        answer = await this.script({ sql: statement.sql, params: statement.params, connection: this.id });
      } catch (err) {
        answer = err;
      }
      if (answer instanceof Error) {
        for (const later of trip.slice(i + 1)) later.ran = false;
        throw answer;
      }
      results.push(answer ?? ok);
    }
    return [parts.length === 1 ? results[0] : results, undefined];
  }

  release(): void {
    this.released = true;
  }

  /** Every statement sent, round trips flattened. */
  get statements(): RecordedStatement[] {
    return this.trips.flat();
  }
}

/** A pool of recording connections sharing one script; `query` runs on a connection of its own. */
export class RecordingPool {
  readonly connections: RecordingConnection[] = [];
  /** Every round trip of every connection, in the order they were sent. */
  readonly trips: RecordedStatement[][] = [];

  constructor(private readonly script: Script) {}

  async getConnection(): Promise<RecordingConnection> {
    const c = new RecordingConnection(this.script, this.connections.length + 1, this.trips);
    this.connections.push(c);
    return c;
  }

  query(sql: string, params?: unknown[]): Promise<[unknown, unknown]> {
    return new RecordingConnection(this.script, 0, this.trips).query(sql, params);
  }
}
