/**
 * Where an origin's stream was applied up to: drc_meta.apply_position, the next Kafka offset per
 * (origin, partition). It is written by a statement inside each target transaction, before its COMMIT
 * (exactly-once in effect, DESIGN.md section 4); on start, and after any failure, the stream resumes
 * at what it reads.
 */
import type mysql from 'mysql2/promise';
import type { QueryConnection } from '../db/pipelined-session.js';
import { position, type Flavor, type Statement } from './sql/meta.js';

/** The changes topics have one partition (the whole order of an origin's transactions is kept). */
const PARTITION = 0;

export class CheckpointStore {
  constructor(
    private readonly db: QueryConnection,
    private readonly flavor: Flavor,
    private readonly origin: string,
  ) {}

  /** The next offset to apply, or undefined when nothing was ever applied (start at the earliest). */
  async read(): Promise<string | undefined> {
    const [rows] = (await this.db.query('SELECT next_offset FROM drc_meta.apply_position WHERE origin = ? AND kafka_partition = 0', [this.origin])) as [mysql.RowDataPacket[], unknown];
    return rows[0] ? String(rows[0].next_offset) : undefined;
  }

  /** The statement recording `nextOffset` (and the source transaction it ends with), for the target transaction. */
  statement(nextOffset: string, originTx: string, originPos: string): Statement {
    return position(this.flavor, this.origin, PARTITION, nextOffset, originTx, originPos);
  }
}
