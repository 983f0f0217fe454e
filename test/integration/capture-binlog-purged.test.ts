/**
 * Capture's start is gone from the binlog (PURGE BINARY LOGS, binlog_expire_logs_seconds, a rebuilt
 * server): the local writes since cannot be read. Capture must say so — stream paused, code
 * DRC_BINLOG_POSITION_GONE, the way out for where the start came from — and must never start
 * elsewhere by itself: the rows written since, and every later one, stay unshipped until an operator acts.
 *
 * Both cases against a real server: the resume point on Kafka, and a first start recorded in
 * drc_meta.capture_start before the topic held a commit (written here as a daemon that died before
 * its first commit leaves it: the crash itself is capture-first-commit.test.ts).
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, expect, it } from 'vitest';
import { currentGtidPosition, detectFlavor } from '../../src/db/connect.js';
import type { Daemon } from '../../src/daemon/wiring.js';
import { changesTopic } from '../../src/model/topics.js';
import { describeWithServers } from '../support/env.js';
import { converge, startDaemons, stopDaemons } from '../support/replication.js';
import { scenario, type Scenario } from '../support/scenario.js';
import { sleep, waitFor } from '../support/wait.js';

const SUPERVISION = { supervision: { initialDelay: '100ms', maxDelay: '1s', giveUpAfter: '3s', pausedRetry: '500ms' } };

describeWithServers('capture whose start the binlog no longer holds', () => {
  let s: Scenario | undefined;
  const daemons: Daemon[] = [];
  afterEach(async () => {
    await stopDaemons(daemons);
    await s?.close();
    s = undefined;
  });

  const count = async (ezone: string) => {
    const [[row]] = await s!.db[ezone]!.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM w');
    return Number(row!.n);
  };
  /**
   * Rotate a's binlog and purge every file before the new one. The server keeps a file until its
   * transactions are checkpointed in InnoDB (MariaDB's binlog checkpoint) and while a dump thread
   * reads it: the purge is tried again until only the new file is left.
   */
  const purgeA = async () => {
    const a = s!.db.a!;
    await a.query('FLUSH BINARY LOGS');
    const [[status]] = await a.query<RowDataPacket[]>('SHOW MASTER STATUS');
    const current = String(status!.File);
    await waitFor(
      async () => {
        await a.query(`PURGE BINARY LOGS TO '${current}'`);
        const [logs] = await a.query<RowDataPacket[]>('SHOW BINARY LOGS');
        return logs.map((l) => String(l.Log_name));
      },
      { what: `a's binlogs purged up to ${current}`, until: (logs) => logs.length === 1 && logs[0] === current, timeoutMs: 30_000, intervalMs: 500 },
    );
  };
  /** a's capture paused on the purged start; b got none of the rows written since. */
  const expectPausedNothingSkipped = async (a: Daemon, rowsInB: number) => {
    const state = await waitFor(() => a.capture.state, { what: "a's capture paused", until: (st) => st.status === 'paused', timeoutMs: 60_000 });
    expect(state.lastError?.code).toBe('DRC_BINLOG_POSITION_GONE');
    // A write made now is not shipped either: capture did not move to the binlog's oldest or newest position.
    await s!.db.a!.query("INSERT INTO w (id, v) VALUES (1000, 'after the purge')");
    await sleep(3000); // time passes on purpose: what capture would ship by now if it had started elsewhere
    expect(await count('b'), "rows in b (nothing written in a since the start may arrive)").toBe(rowsInB);
    expect(a.capture.state.status).toBe('paused');
    return state.lastError!.message;
  };

  it('from the resume point on Kafka: paused with DRC_BINLOG_POSITION_GONE, nothing skipped', async () => {
    s = await scenario('purged_kafka', SUPERVISION, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) await s.db[ez]!.query('CREATE TABLE w (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
    daemons.push(...(await startDaemons(s, ['a', 'b'])));
    for (let i = 1; i <= 5; i++) await s.db.a!.query('INSERT INTO w (id, v) VALUES (?, ?)', [i, `shipped ${i}`]);
    await converge(s, 'w', ['a', 'b'], { rows: 5 });

    await daemons.shift()!.close(); // a stops cleanly: its resume point is on Kafka
    for (let i = 6; i <= 10; i++) await s.db.a!.query('INSERT INTO w (id, v) VALUES (?, ?)', [i, `unread ${i}`]);
    await purgeA();
    const [a] = await startDaemons(s, ['a'], {});
    daemons.push(a!);
    const message = await expectPausedNothingSkipped(a!, 5);
    expect(message).toContain(`the resume point on ${changesTopic(s.prefix, 'a')} is older than what the binlog keeps`);
  }, 180_000);

  it('from a first start recorded before the first commit: the way out names the record to delete', async () => {
    s = await scenario('purged_first', SUPERVISION, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) await s.db[ez]!.query('CREATE TABLE w (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
    daemons.push(...(await startDaemons(s, ['b'])));
    // What a daemon of a leaves when it dies before its first commit: its first start, recorded.
    const topic = changesTopic(s.prefix, 'a');
    const start = await currentGtidPosition(s.db.a!, await detectFlavor(s.db.a!));
    await s.db.a!.query('INSERT INTO drc_meta.capture_start (topic, position, routing, recorded_at) VALUES (?, ?, NULL, UTC_TIMESTAMP(6))', [topic, start]);
    for (let i = 1; i <= 5; i++) await s.db.a!.query('INSERT INTO w (id, v) VALUES (?, ?)', [i, `unread ${i}`]);
    await purgeA();
    const [a] = await startDaemons(s, ['a'], {});
    daemons.push(a!);
    const message = await expectPausedNothingSkipped(a!, 0);
    expect(message).toContain(`DELETE FROM drc_meta.capture_start WHERE topic = '${topic}'`);
    // The record stays: deleting it is the operator's decision, after the copy.
    const [rows] = await s.db.a!.query<RowDataPacket[]>('SELECT position FROM drc_meta.capture_start WHERE topic = ?', [topic]);
    expect(rows.map((r) => String(r.position))).toEqual([start]);
  }, 180_000);
});
