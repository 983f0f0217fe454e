import mysql from 'mysql2/promise';
import type { MysqlConfig } from '../config/schema.js';
import { queryTypeCast } from '../model/types/registry.js';
import { MARK_APPLIER_SESSION_SQL } from './applier-mark.js';
import { installResultCharsets } from './result-charsets.js';
import { mysqlSslOptions } from './tls.js';
import { readSecretFile } from '../config/security.js';
import { ConfigError } from '../errors.js';

installResultCharsets();

/**
 * Result fields read by their type family where a family asks to (model/types/registry.ts): GEOMETRY
 * as its bytes (SRID + WKB, not mysql2's parsed object) and MariaDB UUID/INET text as their stored
 * bytes, so that query values equal binlog values. Every other field keeps mysql2's decoding.
 */
const typeCast = queryTypeCast();

/**
 * Connection options every DRC connection uses: UTC, exact values (DECIMAL as strings, BIGINT as a
 * number within ±2^53 and as an exact string beyond, dates as text with microseconds), utf8mb4.
 * Binlog values decoded with the same options (zongji) agree with what queries return. A family that
 * reads its fields itself does so through `typeCast` (rows read back; zongji's binlog decoding ignores it).
 * TLS from `cfg.tls` (db/tls.ts): the binlog connection takes these same options, so it is encrypted too.
 */
export function connectionOptions(cfg: MysqlConfig): mysql.ConnectionOptions {
  const ssl = mysqlSslOptions(cfg.tls);
  return {
    ...(ssl ? { ssl } : {}),
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    password: passwordOf(cfg),
    connectTimeout: cfg.connectTimeoutMs,
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    jsonStrings: true,
    charset: 'utf8mb4_general_ci',
    ...(typeCast ? { typeCast: typeCast as mysql.TypeCast } : {}),
  };
}

/** The account's password: from passwordFile when given, read now (when a pool or connection is created: a rotated file counts from the next start or tool run). */
export function passwordOf(cfg: Pick<MysqlConfig, 'password' | 'passwordFile'>): string {
  if (cfg.passwordFile === undefined) return cfg.password;
  try {
    return readSecretFile(cfg.passwordFile);
  } catch (err) {
    throw new ConfigError('<config>', [{ path: 'mysql.passwordFile', message: `cannot read ${cfg.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} — mount the secret there, readable by DRC's user` }], { cause: err });
  }
}

/**
 * The sql_mode of apply sessions (the stream's appliers and verify's repairs), fixed whatever the
 * server's default, so that a peer stores what the origin stored, as a native replica does:
 * - NO_AUTO_VALUE_ON_ZERO: an explicit 0 in an AUTO_INCREMENT column stays 0 (mysqldump restores write
 *   such rows; without it the peer generates a new id and later updates miss the row);
 * - STRICT_ALL_TABLES: a value that does not fit fails the statement loudly (the supervisor pauses or
 *   quarantines) instead of being truncated silently;
 * - no NO_ZERO_DATE / NO_ZERO_IN_DATE: a zero date the origin stored is storable here too;
 * - NO_ENGINE_SUBSTITUTION: never write into another engine than the table's.
 * No mode that changes how statements or values read: not ANSI_QUOTES, PAD_CHAR_TO_FULL_LENGTH,
 * NO_BACKSLASH_ESCAPES (mysql2 escapes values client-side with backslashes) nor MariaDB's
 * SIMULTANEOUS_ASSIGNMENT (the tombstone upsert relies on assignments running left to right).
 */
export const APPLY_SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';

/**
 * APPLY_SQL_MODE without strictness, for the one statement that must store an ENUM's index 0 (the ''
 * a non-strict origin stored for a value that is no member): no strict mode of MariaDB or MySQL
 * accepts it, as '', 0 or x''. Only such a statement runs under it (apply/write-batch.ts), between a
 * switch to it and back: every other value a strict mode would refuse still fails loudly.
 */
export const APPLY_SQL_MODE_ENUM_ZERO = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';

/**
 * A pool whose sessions run in UTC, READ COMMITTED, with a short lock wait (a lock held too long is
 * surfaced as a retryable error rather than stalling a stream for the server's default 50 s).
 * `apply: true` marks the sessions that write replicated rows: they run with APPLY_SQL_MODE and set
 * @drc_applier, which guarded triggers skip (applier-mark.ts).
 */
export function createPool(
  cfg: MysqlConfig,
  size: number,
  options: { lockWaitTimeoutS?: number; register?: { ezone: string; owner: string }; multipleStatements?: boolean; apply?: boolean } = {},
): mysql.Pool {
  const pool = mysql.createPool({
    ...connectionOptions(cfg),
    connectionLimit: size,
    waitForConnections: true,
    enableKeepAlive: true,
    // Apply sends the statements of a target transaction in a few round trips (values are escaped by
    // the driver: statements are never built from unescaped input).
    multipleStatements: options.multipleStatements ?? false,
  });
  pool.on('connection', (conn) => {
    // Callback API on the raw connection: the pool awaits nothing here, so errors surface on first use.
    conn.query("SET SESSION time_zone = '+00:00'");
    // Values unconverted: text outside UTF-8 is read as its stored bytes, as capture ships it (result-charsets.ts).
    conn.query('SET SESSION character_set_results = NULL');
    conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    conn.query(`SET SESSION innodb_lock_wait_timeout = ${options.lockWaitTimeoutS ?? 10}`);
    if (options.apply) conn.query(`SET SESSION sql_mode = '${APPLY_SQL_MODE}'`);
    if (options.apply) conn.query(MARK_APPLIER_SESSION_SQL);
    // A daemon's sessions are on record so that a daemon taking over can kill them (fencing).
    if (options.register) {
      conn.query('INSERT IGNORE INTO drc_meta.leader_sessions (ezone, owner, connection_id) VALUES (?, ?, CONNECTION_ID())', [options.register.ezone, options.register.owner]);
    }
  });
  return pool;
}

export type Flavor = 'mariadb' | 'mysql';

/** Detect the server flavour from its version string. */
export async function detectFlavor(db: mysql.Pool | mysql.Connection): Promise<Flavor> {
  const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
  return String(rows[0]?.v ?? '').toLowerCase().includes('mariadb') ? 'mariadb' : 'mysql';
}

/** The server's current binlog position as a GTID position/set string. */
export async function currentGtidPosition(db: mysql.Pool | mysql.Connection, flavor: Flavor): Promise<string> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(gtidPositionSql(flavor));
  return gtidPositionOf(rows);
}

/** The query behind currentGtidPosition, to send along with others (read its rows with gtidPositionOf). */
export const gtidPositionSql = (flavor: Flavor) => (flavor === 'mariadb' ? 'SELECT @@GLOBAL.gtid_binlog_pos AS p' : 'SELECT @@GLOBAL.gtid_executed AS p');

export const gtidPositionOf = (rows: mysql.RowDataPacket[]) => String(rows[0]?.p ?? '').replace(/\s+/g, '');
