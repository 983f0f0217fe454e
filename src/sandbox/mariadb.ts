import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { isAccessDenied } from '../db/mysql-errors.js';
import { SandboxError } from '../errors.js';
import { spawnDetached, waitFor } from './processes.js';

const execFileAsync = promisify(execFile);

/** One private MariaDB server of the sandbox. */
export interface MariaDbSpec {
  /** Ezone name. */
  name: string;
  /** Folder holding data/, the socket, the pid file and the error log. */
  dir: string;
  port: number;
  /** server_id, also the GTID domain id and the auto_increment_offset. */
  serverId: number;
  /** auto_increment_increment, the same on every instance (the number of ezones). */
  autoIncrementIncrement: number;
  /**
   * `sandbox up --tls`: the server's certificate, key and CA (PEM). The server then refuses every
   * TCP connection without TLS (require_secure_transport; the local socket stays usable).
   */
  tls?: { ca: string; cert: string; key: string };
}

export interface MariaDbAccounts {
  adminUser: string;
  adminPassword: string;
  drcUser: string;
  drcPassword: string;
}

export const dataDirOf = (spec: MariaDbSpec) => join(spec.dir, 'data');
const tmpDirOf = (spec: MariaDbSpec) => join(spec.dir, 'tmp');
export const errorLogOf = (spec: MariaDbSpec) => join(spec.dir, 'error.log');

/** Create the datadir with the system tables, once. */
export async function initMariaDb(spec: MariaDbSpec, installDb: string): Promise<void> {
  if (existsSync(join(dataDirOf(spec), 'mysql'))) return;
  mkdirSync(tmpDirOf(spec), { recursive: true });
  const args = [
    '--no-defaults',
    `--datadir=${dataDirOf(spec)}`,
    `--tmpdir=${tmpDirOf(spec)}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
  ];
  if (process.getuid?.() === 0) args.push('--user=root');
  try {
    await execFileAsync(installDb, args, { maxBuffer: 16 << 20 });
  } catch (err) {
    rmSync(dataDirOf(spec), { recursive: true, force: true }); // never leave a half-made datadir behind
    throw new SandboxError(`mariadb-install-db failed for ezone ${spec.name}: ${(err as Error).message}`, { cause: err });
  }
}

/** The server's command line: everything DRC needs, nothing from /etc/mysql. */
export function mariadbArgs(spec: MariaDbSpec): string[] {
  const args = [
    '--no-defaults', // must come first
    `--datadir=${dataDirOf(spec)}`,
    `--tmpdir=${tmpDirOf(spec)}`,
    `--port=${spec.port}`,
    `--socket=${join(spec.dir, 'mysqld.sock')}`,
    `--pid-file=${join(spec.dir, 'mysqld.pid')}`,
    `--log-error=${errorLogOf(spec)}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    `--server-id=${spec.serverId}`,
    `--gtid-domain-id=${spec.serverId}`,
    '--log-bin=binlog',
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    '--binlog-row-metadata=FULL',
    `--auto-increment-increment=${spec.autoIncrementIncrement}`,
    `--auto-increment-offset=${spec.serverId}`,
    '--default-time-zone=+00:00',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    '--max-allowed-packet=1073741824',
    '--max-connections=500',
    '--innodb-buffer-pool-size=256M',
    '--performance-schema=OFF',
  ];
  if (spec.tls) {
    args.push(`--ssl-ca=${spec.tls.ca}`, `--ssl-cert=${spec.tls.cert}`, `--ssl-key=${spec.tls.key}`, '--require-secure-transport=ON', '--tls-version=TLSv1.2,TLSv1.3');
  }
  if (process.getuid?.() === 0) args.push('--user=root');
  return args;
}

/** Start the server in the background; returns its pid. */
export function startMariaDb(spec: MariaDbSpec, mariadbd: string): number {
  return spawnDetached(mariadbd, mariadbArgs(spec), join(spec.dir, 'stdout.log'));
}

/** Wait until the server accepts connections; on timeout the error carries the tail of its error log. */
export async function waitMariaDbReady(spec: MariaDbSpec, isAlive: () => boolean, timeoutMs = 60_000): Promise<void> {
  try {
    await waitFor(`MariaDB of ezone ${spec.name} on port ${spec.port}`, timeoutMs, async () => {
      if (!isAlive()) throw new SandboxError('the server process exited');
      const conn = await mysql.createConnection({ socketPath: join(spec.dir, 'mysqld.sock'), user: 'root', connectTimeout: 1000 }).catch(
        // After bootstrap root has a password; any auth error still proves the server is up.
        (err: unknown) => (isAccessDenied(err) ? 'up' : Promise.reject(err)),
      );
      if (conn !== 'up') await conn.end();
      return true;
    });
  } catch (err) {
    throw new SandboxError(`${(err as Error).message}\n--- ${errorLogOf(spec)} (last lines) ---\n${tail(errorLogOf(spec), 8)}`, { cause: err });
  }
}

/**
 * Create the administrative account and DRC's least-privilege account (idempotent). Root connects
 * through the socket, where it has no password until this sets one.
 */
export async function bootstrapMariaDb(spec: MariaDbSpec, accounts: MariaDbAccounts): Promise<void> {
  const options = { requireClientCertificate: spec.tls !== undefined };
  const socketPath = join(spec.dir, 'mysqld.sock');
  const conn = await mysql
    .createConnection({ socketPath, user: accounts.adminUser, password: accounts.adminPassword })
    .catch(() => mysql.createConnection({ socketPath, user: 'root' }));
  try {
    for (const sql of accountStatements(accounts, options)) await conn.query(sql);
  } finally {
    await conn.end();
  }
}

/**
 * SQL that creates the administrative account and DRC's least-privilege account; idempotent, valid on
 * MariaDB and MySQL 8. `requireClientCertificate`: DRC's account must present a certificate signed by
 * the server's CA (REQUIRE X509, mTLS) on every connection — the binlog reader's included.
 */
export function accountStatements(accounts: MariaDbAccounts, options: { requireClientCertificate?: boolean } = {}): string[] {
  const admin = mysql.escape(accounts.adminPassword);
  const drc = mysql.escape(accounts.drcPassword);
  return [
    `CREATE USER IF NOT EXISTS '${accounts.adminUser}'@'%' IDENTIFIED BY ${admin}`,
    `ALTER USER '${accounts.adminUser}'@'%' IDENTIFIED BY ${admin}`,
    `GRANT ALL PRIVILEGES ON *.* TO '${accounts.adminUser}'@'%' WITH GRANT OPTION`,
    // DRC reads the binlog, writes replicated rows, and owns the drc_meta schema. No SUPER.
    `CREATE USER IF NOT EXISTS '${accounts.drcUser}'@'%' IDENTIFIED BY ${drc}`,
    `ALTER USER '${accounts.drcUser}'@'%' IDENTIFIED BY ${drc}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${accounts.drcUser}'@'%'`,
    `GRANT ALL PRIVILEGES ON drc_meta.* TO '${accounts.drcUser}'@'%'`,
    ...(options.requireClientCertificate ? [`ALTER USER '${accounts.drcUser}'@'%' REQUIRE X509`] : []),
    // Passwordless root stays only on the socket, for the operator on this machine.
    `DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1'`,
    'FLUSH PRIVILEGES',
  ];
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
