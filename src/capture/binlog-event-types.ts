/**
 * Which binlog event types capture may pass over, and which must stop it (issue 14). zongji 0.9.0
 * skips every event type it has no decoder for (lib/code_map.js getEventClass → Unknown), and for
 * MySQL 8's compressed transactions and partial JSON updates it only emits one error per reader
 * (index.js _warnUnsupportedEvent) before skipping them: a peer that logs and goes on loses those
 * row changes silently. Here the decision is made from the event's type code alone, before zongji
 * looks at it, so that nothing carrying row changes can be passed over (zongji-patches.ts applies it).
 *
 * Pure: the type code and header flags in, a refusal (or none) out.
 */

/** MySQL's TRANSACTION_PAYLOAD_EVENT: a whole transaction, zstd-compressed (binlog_transaction_compression=ON). */
export const TRANSACTION_PAYLOAD_EVENT = 40;
/** MySQL's PARTIAL_UPDATE_ROWS_EVENT: an UPDATE whose JSON after-image is a diff (binlog_row_value_options=PARTIAL_JSON). */
export const PARTIAL_UPDATE_ROWS_EVENT = 39;
/** Header flag LOG_EVENT_IGNORABLE_F (log_event.h): a reader that does not know the event may skip it. */
export const LOG_EVENT_IGNORABLE_F = 0x80;

/**
 * Event types capture reads through zongji's decoders (lib/code_map.js EventClass, minus the two
 * MySQL 8 types it cannot decode), or that carry no row change and no position DRC needs.
 */
const PASSABLE: Record<number, string> = {
  2: 'QUERY_EVENT',
  3: 'STOP_EVENT', // the server shut down; the next file follows
  4: 'ROTATE_EVENT',
  5: 'INTVAR_EVENT',
  13: 'RAND_EVENT', // context of a statement-logged query (DDL)
  14: 'USER_VAR_EVENT', // likewise
  15: 'FORMAT_DESCRIPTION_EVENT',
  16: 'XID_EVENT',
  19: 'TABLE_MAP_EVENT',
  23: 'WRITE_ROWS_EVENT_V1',
  24: 'UPDATE_ROWS_EVENT_V1',
  25: 'DELETE_ROWS_EVENT_V1',
  27: 'HEARTBEAT_LOG_EVENT',
  28: 'IGNORABLE_LOG_EVENT',
  29: 'ROWS_QUERY_LOG_EVENT',
  30: 'WRITE_ROWS_EVENT_V2',
  31: 'UPDATE_ROWS_EVENT_V2',
  32: 'DELETE_ROWS_EVENT_V2',
  33: 'GTID_LOG_EVENT',
  34: 'ANONYMOUS_GTID_LOG_EVENT',
  35: 'PREVIOUS_GTIDS_LOG_EVENT',
  36: 'TRANSACTION_CONTEXT_EVENT', // group replication certification info
  37: 'VIEW_CHANGE_EVENT', // group replication membership
  38: 'XA_PREPARE_LOG_EVENT',
  41: 'HEARTBEAT_LOG_EVENT_V2',
  42: 'GTID_TAGGED_LOG_EVENT',
  // MariaDB (sql/log_event.h)
  160: 'ANNOTATE_ROWS_EVENT',
  161: 'BINLOG_CHECKPOINT_EVENT',
  162: 'GTID_EVENT',
  163: 'GTID_LIST_EVENT',
  164: 'START_ENCRYPTION_EVENT',
  165: 'QUERY_COMPRESSED_EVENT',
  166: 'WRITE_ROWS_COMPRESSED_EVENT_V1',
  167: 'UPDATE_ROWS_COMPRESSED_EVENT_V1',
  168: 'DELETE_ROWS_COMPRESSED_EVENT_V1',
  169: 'WRITE_ROWS_COMPRESSED_EVENT',
  170: 'UPDATE_ROWS_COMPRESSED_EVENT',
  171: 'DELETE_ROWS_COMPRESSED_EVENT',
};

/** Names of event types that stop capture, for the error message. */
const NAMES: Record<number, string> = {
  1: 'START_EVENT_V3',
  6: 'LOAD_EVENT',
  7: 'SLAVE_EVENT',
  8: 'CREATE_FILE_EVENT',
  9: 'APPEND_BLOCK_EVENT',
  10: 'EXEC_LOAD_EVENT',
  11: 'DELETE_FILE_EVENT',
  12: 'NEW_LOAD_EVENT',
  17: 'BEGIN_LOAD_QUERY_EVENT',
  18: 'EXECUTE_LOAD_QUERY_EVENT',
  20: 'PRE_GA_DELETE_ROWS_EVENT',
  21: 'PRE_GA_UPDATE_ROWS_EVENT',
  22: 'PRE_GA_WRITE_ROWS_EVENT',
  26: 'INCIDENT_EVENT',
  [PARTIAL_UPDATE_ROWS_EVENT]: 'PARTIAL_UPDATE_ROWS_EVENT',
  [TRANSACTION_PAYLOAD_EVENT]: 'TRANSACTION_PAYLOAD_EVENT',
};

/** Why capture cannot go past an event, in words an operator acts on. */
export interface EventRefusal {
  typeCode: number;
  /** The server's name for the type, or `UNKNOWN_EVENT_<code>`. */
  event: string;
  /** The server setting that makes it appear, where one does. */
  setting?: string;
  /** What the operator does. */
  fix: string;
}

/**
 * The refusal for an event of type `typeCode` with header `flags`, or undefined when capture may
 * read or pass over it. Unknown types are refused unless the server marked them ignorable.
 */
export function refusalOf(typeCode: number, flags: number): EventRefusal | undefined {
  if (PASSABLE[typeCode] !== undefined) return undefined;
  const event = NAMES[typeCode] ?? `UNKNOWN_EVENT_${typeCode}`;
  if (typeCode === TRANSACTION_PAYLOAD_EVENT) {
    return {
      typeCode,
      event,
      setting: 'binlog_transaction_compression=ON',
      fix: 'set binlog_transaction_compression=OFF globally (SET PERSIST) and in every session that turns it on; DRC cannot decode compressed transactions',
    };
  }
  if (typeCode === PARTIAL_UPDATE_ROWS_EVENT) {
    return {
      typeCode,
      event,
      setting: 'binlog_row_value_options=PARTIAL_JSON',
      fix: "set binlog_row_value_options='' globally (SET PERSIST) and in every session that sets it; DRC cannot apply partial JSON updates",
    };
  }
  if ((flags & LOG_EVENT_IGNORABLE_F) !== 0) return undefined;
  if (typeCode === 26) {
    return { typeCode, event, fix: 'the server recorded an incident (changes may be missing from its binlog): re-seed the peers from this server, then restart capture past it' };
  }
  return { typeCode, event, fix: 'DRC cannot decode this event type; it may carry row changes, so capture does not pass over it — check the server version and settings against the README (supported servers)' };
}

/** The event type code and header flags of a binlog network packet (OK byte, then the v4 event header), or undefined for a packet too short to be an event. */
export function eventHeaderOf(payload: Buffer): { typeCode: number; flags: number; nextPosition: number } | undefined {
  // marker(1) timestamp(4) type(1) server_id(4) event_length(4) next_position(4) flags(2)
  if (payload.length < 20 || payload[0] !== 0x00) return undefined;
  return { typeCode: payload[5]!, nextPosition: payload.readUInt32LE(14), flags: payload.readUInt16LE(18) };
}
