import type { RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import { adminConnection, describeWithServers, infra } from '../support/env.js';

interface Settings {
  binlogFormat: string;
  rowImage: string;
  rowMetadata: string;
  logBin: number;
  serverId: number;
  increment: number;
  incrementOffset: number;
  domainId: number | null;
}

async function settingsOf(ezone: string): Promise<Settings> {
  const conn = await adminConnection(ezone);
  try {
    const [[row]] = await conn.query<RowDataPacket[]>(
      `SELECT @@binlog_format AS binlogFormat, @@binlog_row_image AS rowImage, @@binlog_row_metadata AS rowMetadata,
              @@log_bin AS logBin, @@server_id AS serverId, @@auto_increment_increment AS increment,
              @@auto_increment_offset AS incrementOffset`,
    );
    const flavor = infra().flavor;
    const [[domain]] =
      flavor === 'mariadb' ? await conn.query<RowDataPacket[]>('SELECT @@gtid_domain_id AS domainId') : [[{ domainId: null }]];
    return { ...(row as Settings), domainId: (domain as { domainId: number | null }).domainId };
  } finally {
    await conn.end();
  }
}

describeWithServers('sandbox servers', () => {
  it('every ezone runs a server configured for DRC', async () => {
    const names = infra().ezones.map((e) => e.name);
    expect(names.length).toBeGreaterThanOrEqual(2);
    const all = await Promise.all(names.map(settingsOf));
    for (const s of all) {
      expect(s).toMatchObject({ binlogFormat: 'ROW', rowImage: 'FULL', rowMetadata: 'FULL', logBin: 1 });
      expect(s.increment).toBe(all[0]?.increment);
      expect(s.increment).toBeGreaterThanOrEqual(names.length);
    }
    expect(new Set(all.map((s) => s.serverId)).size).toBe(names.length);
    expect(new Set(all.map((s) => s.incrementOffset)).size).toBe(names.length);
    if (infra().flavor === 'mariadb') expect(new Set(all.map((s) => s.domainId)).size).toBe(names.length);
  });

  it('the config names DRC\'s least-privilege account, which can read binlogs but not administer', async () => {
    const cfg = loadConfig(infra().config);
    for (const [name, ez] of Object.entries(cfg.ezones)) {
      expect(ez.mysql.user).not.toBe(infra().ezones.find((e) => e.name === name)?.mysql.user);
      const conn = await mysql.createConnection({ host: ez.mysql.host, port: ez.mysql.port, user: ez.mysql.user, password: ez.mysql.password });
      try {
        const [grants] = await conn.query<RowDataPacket[]>('SHOW GRANTS');
        const text = grants.map((g) => Object.values(g)[0] as string).join('\n');
        expect(text).toMatch(/REPLICATION SLAVE/);
        expect(text).toMatch(/`drc_meta`\.\*/);
        expect(text).not.toMatch(/SUPER|ALL PRIVILEGES ON \*\.\*/);
        await conn.query('CREATE DATABASE IF NOT EXISTS drc_meta');
        await expect(conn.query('CREATE DATABASE drc_should_not_exist')).rejects.toMatchObject({ errno: 1044 });
      } finally {
        await conn.end();
      }
    }
  });
});
