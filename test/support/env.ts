import mysql from 'mysql2/promise';
import { describe, inject } from 'vitest';
import type { TestInfra } from './infra.js';

/** The servers of this run (see global-setup). */
export function infra(): TestInfra {
  return inject('infra');
}

/** `describe` for suites that need the servers: reported as skipped, with the reason, where there are none. */
export function describeWithServers(name: string, fn: () => void): void {
  const reason = infra().skipped;
  describe.skipIf(reason !== undefined)(reason ? `${name} (${reason})` : name, fn);
}

/** An administrative connection to one ezone's server. */
export function adminConnection(ezone: string, options: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  const ez = infra().ezones.find((e) => e.name === ezone);
  if (!ez) throw new Error(`no ezone ${ezone} in the test servers`);
  return mysql.createConnection({ ...ez.mysql, ...options });
}
