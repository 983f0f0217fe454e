import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loader.js';
import { isPortOpen } from '../../src/sandbox/ports.js';
import { runDrc } from '../support/cli.js';

interface UpJson {
  config: string;
  ezones: { name: string; mysql: { host: string; port: number; user: string; password: string } }[];
  kafka: { brokers: string[] };
}
interface StatusJson {
  running: boolean;
  ezones: { name: string; port: number; pid: number | null; running: boolean }[];
  kafka: { port: number; pid: number | null; running: boolean } | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('drc sandbox up | status | down (the real binary, its own sandbox)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drc-sandbox-test-'));
  afterAll(async () => {
    await runDrc(['sandbox', 'down', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts, is idempotent, reports pids, and stops everything', async () => {
    const up = await runDrc(['sandbox', 'up', '--ezones', '1', '--dir', dir, '--json']);
    expect(up.code, up.stderr).toBe(0);
    const info = JSON.parse(up.stdout) as UpJson;
    expect(info.config).toBe(join(dir, 'drc.yaml'));
    expect(info.ezones).toHaveLength(1);
    expect(info.ezones[0]).toMatchObject({ name: 'a', mysql: { host: '127.0.0.1', user: 'root' } });
    const cfg = loadConfig(info.config);
    expect(Object.keys(cfg.ezones)).toEqual(['a']);
    expect(cfg.kafka.brokers).toEqual(info.kafka.brokers);

    // The administrative account from --json works.
    const conn = await mysql.createConnection(info.ezones[0]!.mysql);
    const [[row]] = await conn.query<mysql.RowDataPacket[]>('SELECT 1 + 1 AS two');
    expect(row?.two).toBe(2);
    await conn.end();

    const status1 = JSON.parse((await runDrc(['sandbox', 'status', '--dir', dir, '--json'])).stdout) as StatusJson;
    expect(status1.running).toBe(true);
    const pids = [...status1.ezones.map((e) => e.pid), status1.kafka?.pid];
    for (const pid of pids) expect(pid && alive(pid)).toBe(true);

    // up again: same servers, same pids, same answer.
    const again = await runDrc(['sandbox', 'up', '--dir', dir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(info);
    const status2 = JSON.parse((await runDrc(['sandbox', 'status', '--dir', dir, '--json'])).stdout) as StatusJson;
    expect([...status2.ezones.map((e) => e.pid), status2.kafka?.pid]).toEqual(pids);

    // A different size is refused, not silently changed.
    const resized = await runDrc(['sandbox', 'up', '--ezones', '2', '--dir', dir]);
    expect(resized.code).toBe(2);
    expect(resized.stderr).toMatch(/has 1 ezones, not 2/);

    const down = await runDrc(['sandbox', 'down', '--dir', dir]);
    expect(down.code, down.stderr).toBe(0);
    for (const pid of pids) expect(alive(pid as number)).toBe(false);
    const ports = [...status1.ezones.map((e) => e.port), status1.kafka!.port];
    for (const port of ports) expect(await isPortOpen(port)).toBe(false);
    expect(existsSync(join(dir, 'drc.yaml'))).toBe(false);
    const status3 = JSON.parse((await runDrc(['sandbox', 'status', '--dir', dir, '--json'])).stdout) as StatusJson;
    expect(status3).toMatchObject({ running: false, ezones: [], kafka: null });

    // And the broker really is gone for clients.
    const kafka = new Kafka({ brokers: info.kafka.brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 500 });
    const admin = kafka.admin();
    await expect(admin.connect()).rejects.toThrow();
  });
});

describe('drc with a broken config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drc-config-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 with a message naming the bad key and the fix', async () => {
    const file = join(dir, 'drc.yaml');
    writeFileSync(file, 'kafka:\n  brokers: [127.0.0.1:9092]\nezones:\n  a:\n    mysql: { prot: 3306 }\n    serverId: 1\n');
    const res = await runDrc(['config', 'check', '--config', file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('ezones.a.mysql.prot: unknown key — did you mean "port"?');
    expect(res.stdout).toBe('');
  });

  it('exits 2 when the file does not exist', async () => {
    const res = await runDrc(['config', 'check', '--config', join(dir, 'missing.yaml')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/file not found — pass an existing file with --config/);
  });

  it('exits 2 on an unknown ezone', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'kafka:\n  brokers: [127.0.0.1:9092]\nezones:\n  a:\n    mysql: {}\n    serverId: 1\n');
    const res = await runDrc(['config', 'check', '--config', file, '--ezone', 'zz']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown ezone "zz" — the config defines: a/);
  });
});
