/**
 * The write guard's triggers (`drc guard install`, issue 17), pure: per hash-sharded table, BEFORE
 * INSERT / UPDATE / DELETE triggers that refuse a local write to a row whose shard this ezone does not
 * own, or that is under a write ban, with SQLSTATE 45000 and a message naming table, shard and owner
 * (at most 128 characters, SIGNAL's limit).
 *
 * - DRC's applier sessions pass (they set @drc_applier, db/applier-mark.ts): the body has the form
 *   `drc triggers guard` writes (admin/trigger-guard.ts), so doctor counts the guard as guarded.
 * - The shard is the one DRC computes (model/ownership.ts shardOf: CRC-32 of the key's text mod
 *   shardCount): MySQL/MariaDB's CRC32() over the value as utf8mb4 text. Integer and text keys agree;
 *   binary keys do not (DRC hashes their base64 text): do not guard tables sharded by a binary column.
 * - The routing row is read with a locking read (LOCK IN SHARE MODE): a write holds its shard's row
 *   shared until it commits, so a ban (an UPDATE of those rows) waits for the writes in flight and every
 *   write after it sees the ban. The binlog then holds every write of the old owner before the ban.
 */
import { crc32 } from 'node:zlib';
import { guardedBody, quoteIdent } from './trigger-guard.js';

/** Every trigger DRC's guard installs starts with this name. */
export const GUARD_TRIGGER_PREFIX = 'drc_guard_';

export type GuardEvent = 'INSERT' | 'UPDATE' | 'DELETE';
export const GUARD_EVENTS: readonly GuardEvent[] = ['INSERT', 'UPDATE', 'DELETE'];

/** `drc_guard_<i|u|d>_<table>`, cut to MySQL's 64 characters with a checksum when longer. */
export function guardTriggerName(table: string, event: GuardEvent): string {
  const name = `${GUARD_TRIGGER_PREFIX}${event[0]!.toLowerCase()}_${table}`;
  if (name.length <= 64) return name;
  return `${name.slice(0, 55)}_${crc32(Buffer.from(table, 'utf8')).toString(16).padStart(8, '0')}`;
}

/** A string literal (backslashes and quotes escaped: valid whatever NO_BACKSLASH_ESCAPES says, for ASCII names). */
const literal = (text: string): string => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;

export interface GuardTarget {
  schema: string;
  table: string;
  /** Shard-key column. */
  column: string;
  shardCount: number;
  /** The ezone whose database the trigger runs in. */
  ezone: string;
  /** The topology (kafka.topicPrefix) whose routing rows it reads. */
  topology: string;
}

/** The check of one row image (`NEW` or `OLD`). */
function checkOf(t: GuardTarget, image: 'NEW' | 'OLD'): string {
  const col = `${image}.${quoteIdent(t.column)}`;
  const name = literal(`${t.schema}.${t.table}`);
  const ezone = literal(t.ezone);
  return `  IF ${col} IS NOT NULL THEN
    SET drc_owner = NULL, drc_state = NULL;
    SET drc_shard = CRC32(CAST(${col} AS CHAR CHARACTER SET utf8mb4)) % ${t.shardCount};
    SELECT owner, state INTO drc_owner, drc_state FROM drc_meta.routing WHERE topology = ${literal(t.topology)} AND shard = drc_shard LOCK IN SHARE MODE;
    IF drc_owner IS NOT NULL AND (drc_owner <> ${ezone} OR drc_state <> 'owned') THEN
      SET drc_msg = LEFT(CONCAT('DRC guard: ', ${name}, ' shard ', drc_shard, IF(drc_state = 'banned', CONCAT(' is banned (moving from ', drc_owner, ')'), CONCAT(' is owned by ', drc_owner)), ', not writable in ', ${ezone}), 128);
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = drc_msg;
    END IF;
  END IF;`;
}

/** The trigger body: skipped by DRC's applier, else the check of every image the write touches. */
export function guardBody(t: GuardTarget, event: GuardEvent): string {
  const images: ('NEW' | 'OLD')[] = event === 'INSERT' ? ['NEW'] : event === 'DELETE' ? ['OLD'] : ['OLD', 'NEW'];
  return guardedBody(`BEGIN
  DECLARE drc_shard BIGINT UNSIGNED;
  DECLARE drc_owner VARCHAR(32) DEFAULT NULL;
  DECLARE drc_state VARCHAR(8) DEFAULT NULL;
  DECLARE drc_msg VARCHAR(128);
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET drc_owner = NULL;
${images.map((i) => checkOf(t, i)).join('\n')}
END`);
}

/** The CREATE TRIGGER statement of one guard trigger (the caller drops an older one first). */
export function createGuardSql(t: GuardTarget, event: GuardEvent): string {
  const table = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
  return `CREATE TRIGGER ${quoteIdent(t.schema)}.${quoteIdent(guardTriggerName(t.table, event))} BEFORE ${event} ON ${table} FOR EACH ROW ${guardBody(t, event)}`;
}

export function dropGuardSql(schema: string, name: string): string {
  return `DROP TRIGGER IF EXISTS ${quoteIdent(schema)}.${quoteIdent(name)}`;
}
