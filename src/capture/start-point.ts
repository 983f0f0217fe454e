/**
 * Where capture starts, and what that start means once the binlog no longer holds it (DESIGN.md
 * section 4). The resume point is the position carried by the last message committed on the ezone's
 * changes topic. Before the topic holds a commit there is none: the first start is recorded in
 * drc_meta.capture_start (db/capture-start.ts) before anything is read, and every start begins there
 * again until the first commit, after which the record goes.
 */
import type mysql from 'mysql2/promise';
import { forgetCaptureStart, recordCaptureStart, recordedCaptureStart } from '../db/capture-start.js';
import { currentGtidPosition, detectFlavor } from '../db/connect.js';
import { BinlogPositionGoneError } from '../errors.js';
import { decodeChunk } from '../model/envelope.js';
import type { StoredMessage } from '../model/ports.js';
import type { Logger } from '../ops/logger.js';
import type { RoutingTracker } from './routing-tracker.js';
import { ROUTING_HEADER } from './shipper.js';

export class StartPoint {
  /** The start is Kafka's (this run resumed from the topic, or has committed on it since), or a recorded first start. */
  private from: 'kafka' | 'recorded' = 'recorded';
  /** A record may be left in drc_meta.capture_start: forgotten once the topic holds a commit (a failure is retried after the next one). */
  private recordLeft = false;

  constructor(
    private readonly pool: mysql.Pool,
    /** The ezone's changes topic. */
    private readonly topic: string,
    /** Put back to the routing in force at the start found. */
    private readonly routing: RoutingTracker,
    private readonly log: Logger,
  ) {}

  /** The position to start at, `last` being the last message committed on the topic (undefined: none). */
  async find(last: Pick<StoredMessage, 'value' | 'headers'> | undefined): Promise<string> {
    this.recordLeft = true; // after a commit, or the one of this run
    if (!last) return this.first();
    const position = decodeChunk(last.value).pos;
    this.routing.resume(last.headers?.[ROUTING_HEADER], position);
    this.log.info({ position, topic: this.topic }, 'capture resumes after the last transaction on Kafka');
    this.from = 'kafka';
    await this.forget(); // a record left by an earlier run
    return position;
  }

  /** A Kafka commit put a resume point on the topic: the start is Kafka's from now on. */
  async committed(): Promise<void> {
    this.from = 'kafka';
    if (this.recordLeft) await this.forget();
  }

  /** The binlog no longer holds `position`, where capture (re)starts: what it means, and the way out, which depends on where the start came from. */
  gone(position: string, err: unknown): BinlogPositionGoneError {
    const wayOut =
      this.from === 'kafka'
        ? `the resume point on ${this.topic} is older than what the binlog keeps, and capture cannot start elsewhere (README, "Binlog retention")`
        : `it is the first start recorded before ${this.topic} held a commit: copy this ezone's data again from a peer, then DELETE FROM drc_meta.capture_start WHERE topic = '${this.topic}' and restart the daemon, which then starts at the binlog end (README, "Binlog retention")`;
    return new BinlogPositionGoneError(position, wayOut, err);
  }

  /**
   * The topic holds nothing: start where the first start did, recorded before anything was read,
   * with the routing in force there; or, on the first start, at the binlog end, recorded now.
   */
  private async first(): Promise<string> {
    const topic = this.topic;
    const recorded = await recordedCaptureStart(this.pool, topic);
    if (recorded) {
      this.log.info({ position: recorded.position, recordedAt: recorded.recordedAt, topic }, 'nothing committed on Kafka yet: capture starts again where it first started');
      this.routing.resume(recorded.routing, recorded.position);
      return recorded.position;
    }
    const here = await currentGtidPosition(this.pool, await detectFlavor(this.pool));
    const start = await recordCaptureStart(this.pool, topic, here, this.routing.current());
    // Another daemon recorded first (a standby starting at once): its start, with its routing.
    if (start.position !== here) this.routing.resume(start.routing, start.position);
    this.log.info({ position: start.position, topic }, 'no resume point on Kafka: capture starts at the current binlog end (recorded: a restart before its first commit starts here again)');
    return start.position;
  }

  private async forget(): Promise<void> {
    try {
      await forgetCaptureStart(this.pool, this.topic);
      this.recordLeft = false;
    } catch (err) {
      this.log.warn({ err }, 'forgetting the recorded capture start failed (retried after the next commit, and at the next start)');
    }
  }
}
