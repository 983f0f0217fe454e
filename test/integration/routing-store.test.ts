/**
 * drc_meta.routing and drc_meta.switchovers read against the real server (issue 17): the switchover
 * shown by drc_switchover_state and /healthz.
 */
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ensureMetaSchema } from '../../src/db/meta-schema.js';
import { latestSwitchover } from '../../src/db/routing-store.js';
import { describeWithServers } from '../support/env.js';
import { connectEzone } from '../support/scenario.js';

describeWithServers('routing store (issue 17)', () => {
  let conn: mysql.Connection;
  const topology = `rs${randomBytes(4).toString('hex')}`;
  beforeEach(async () => {
    conn = await connectEzone('a');
    await ensureMetaSchema(conn);
  });
  afterEach(async () => {
    await conn.query('DELETE FROM drc_meta.switchovers WHERE topology = ?', [topology]);
    await conn.end();
  });

  it('shows an unfinished switchover before a finished one started later by a skewed clock', async () => {
    const record = (id: string, state: string, startedAt: string) =>
      conn.query(
        "INSERT INTO drc_meta.switchovers (id, topology, shard_from, shard_to, from_ezone, to_ezone, state, started_at, updated_at) VALUES (?, ?, 0, 7, 'a', 'b', ?, ?, UTC_TIMESTAMP(6))",
        [`${topology}-${id}`, topology, state, startedAt],
      );
    await record('old', 'done', '2026-01-01 00:00:00');
    expect(await latestSwitchover(conn, topology)).toEqual({ id: `${topology}-old`, state: 'done' });
    await record('open', 'banned', '2026-01-01 00:01:00');
    // Written by a server whose clock runs an hour ahead, finished.
    await record('skewed', 'rolled-back', '2026-01-01 01:00:00');
    expect(await latestSwitchover(conn, topology)).toEqual({ id: `${topology}-open`, state: 'banned' });
    await conn.query("UPDATE drc_meta.switchovers SET state = 'done' WHERE id = ?", [`${topology}-open`]);
    expect(await latestSwitchover(conn, topology)).toEqual({ id: `${topology}-skewed`, state: 'rolled-back' });
  });
});
