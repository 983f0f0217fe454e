/**
 * Where capture started on a changes topic that held nothing yet (`drc_meta.capture_start`). Capture
 * resumes from the last message Kafka committed (DESIGN.md section 4); before its first commit there is
 * none, and starting again at the binlog end would skip every local transaction written since the first
 * start — a daemon killed, or a Kafka outage, before its first commit lost them. So the first start
 * records its position here, before it reads anything, and a start that finds the topic empty begins
 * there. The row goes once the topic holds a commit: it is never read while Kafka has a resume point,
 * and a topic recreated later starts at the binlog end, as it always did.
 */
import type mysql from 'mysql2/promise';

/** A recorded first start. */
export interface CaptureStart {
  position: string;
  /** The routing in force at `position` (routing-tracker.ts current()); undefined: none kept. */
  routing: string | undefined;
  /** When (UTC, as text). */
  recordedAt: string;
}

/** The start recorded for `topic`, or undefined. */
export async function recordedCaptureStart(db: mysql.Pool | mysql.Connection, topic: string): Promise<(CaptureStart & { ageSeconds: number }) | undefined> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    'SELECT position, routing, CAST(recorded_at AS CHAR) AS at, TIMESTAMPDIFF(SECOND, recorded_at, UTC_TIMESTAMP(6)) AS age FROM drc_meta.capture_start WHERE topic = ?',
    [topic],
  );
  const row = rows[0];
  return row ? { position: String(row.position), routing: row.routing === null ? undefined : String(row.routing), recordedAt: String(row.at), ageSeconds: Number(row.age) } : undefined;
}

/**
 * Record `position`, and the routing in force there, as the start for `topic` unless one is there
 * (two daemons starting at once keep the first); returns the start in force.
 */
export async function recordCaptureStart(db: mysql.Pool, topic: string, position: string, routing: string | undefined): Promise<CaptureStart> {
  await db.query('INSERT IGNORE INTO drc_meta.capture_start (topic, position, routing, recorded_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))', [topic, position, routing ?? null]);
  const recorded = await recordedCaptureStart(db, topic);
  // Not there: a start not recorded would be lost by a crash before the first commit — say so, never go on.
  if (!recorded) throw new Error(`drc_meta.capture_start: the start recorded for ${topic} cannot be read back`);
  return recorded;
}

/** Forget the start recorded for `topic` (the topic holds a commit now). */
export async function forgetCaptureStart(db: mysql.Pool, topic: string): Promise<void> {
  await db.query('DELETE FROM drc_meta.capture_start WHERE topic = ?', [topic]);
}
