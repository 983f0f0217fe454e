/**
 * Connecting to a sandbox server with its administrative account (`SandboxInfo.ezones[].mysql`, what
 * `drc sandbox up --json` prints): the tools around the sandbox (`drc demo`, the bench) connect the
 * way the daemon does, through db/tls.ts. On a `--tls` sandbox the entry carries the CA file: the
 * connection is encrypted and the server's certificate verified against it and its name
 * (verify_identity; the account needs no client certificate). mysql2 takes no CA *path*: handed the
 * entry as it is, it ignores `ca` and tries plaintext, which require_secure_transport refuses.
 */
import type mysql from 'mysql2/promise';
import { mysqlSslOptions } from '../db/tls.js';
import type { SandboxInfo } from './sandbox.js';

export type SandboxAccount = SandboxInfo['ezones'][number]['mysql'];

/** mysql2 options for a sandbox's administrative account, `extra` added (database, timezone …). */
export function sandboxConnectionOptions(account: SandboxAccount, extra: mysql.ConnectionOptions = {}): mysql.ConnectionOptions {
  const { ca, ...plain } = account;
  const ssl = ca ? mysqlSslOptions({ mode: 'verify_identity', ca }) : undefined;
  return { ...plain, ...extra, ...(ssl ? { ssl } : {}) };
}
