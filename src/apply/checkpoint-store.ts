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
    /** The changes topic the stream reads: a position recorded for another topic is not one here. */
    private readonly topic: string | null = null,
  ) {}

  /**
   * The next offset to apply, or undefined when nothing was ever applied here (start at the earliest).
   * An offset recorded for another topic (the topic prefix changed, or the topic was recreated) says
   * nothing about this one: seeking to it would skip this topic's first messages, so it is ignored
   * (`stale` says so). A position recorded before topics were recorded counts as this topic's.
   */
  async read(): Promise<string | undefined> {
    return (await this.readWithTopic()).offset;
  }

  async readWithTopic(): Promise<{ offset: string | undefined; stale?: string }> {
    const [rows] = (await this.db.query('SELECT next_offset, topic FROM drc_meta.apply_position WHERE origin = ? AND kafka_partition = 0', [this.origin])) as [mysql.RowDataPacket[], unknown];
    const row = rows[0];
    if (!row) return { offset: undefined };
    const recorded = row.topic === null || row.topic === undefined ? null : String(row.topic);
    if (this.topic !== null && recorded !== null && recorded !== this.topic) return { offset: undefined, stale: recorded };
    return { offset: String(row.next_offset) };
  }

  /** The statement recording `nextOffset` (and the source transaction it ends with), for the target transaction. */
  statement(nextOffset: string, originTx: string, originPos: string): Statement {
    return position(this.flavor, this.origin, PARTITION, nextOffset, originTx, originPos, this.topic);
  }
}
