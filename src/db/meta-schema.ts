import type mysql from 'mysql2/promise';

/** The schema DRC owns in every ezone's database (DESIGN.md section 8). */
export const META_SCHEMA = 'drc_meta';

/**
 * Migrations, applied in order, each once. Never edit a released one: append.
 * Capture ignores drc_meta except `heartbeat`, `routing` and `switchovers`, which replicate like user data.
 */
const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS drc_meta.tx_origin (
      slot SMALLINT UNSIGNED NOT NULL PRIMARY KEY COMMENT 'apply worker; one row each, so workers never contend',
      origin VARCHAR(32) NOT NULL COMMENT 'true origin ezone of the applied transaction(s)',
      origin_tx VARCHAR(255) NOT NULL COMMENT 'source transaction id (the last of a group)',
      origin_pos VARCHAR(1024) NOT NULL COMMENT 'origin binlog position after it',
      n BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'bumped on every use: the row always changes, so it is always binlogged',
      applied_at DATETIME(6) NOT NULL
    ) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS drc_meta.apply_position (
      origin VARCHAR(32) NOT NULL,
      kafka_partition INT NOT NULL,
      next_offset BIGINT NOT NULL COMMENT 'next Kafka offset to apply',
      origin_tx VARCHAR(255) NULL,
      origin_pos VARCHAR(1024) NULL,
      updated_at DATETIME(6) NOT NULL,
      PRIMARY KEY (origin, kafka_partition)
    ) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS drc_meta.heartbeat (
      ezone VARCHAR(32) NOT NULL PRIMARY KEY COMMENT 'the ezone whose daemon wrote the row',
      seq BIGINT UNSIGNED NOT NULL,
      sent_at DATETIME(6) NOT NULL COMMENT 'sender clock (UTC) when written',
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
    ) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS drc_meta.tombstones (
      schema_name VARCHAR(64) NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      key_hash BINARY(32) NOT NULL COMMENT 'sha256 of the canonical primary key',
      key_json TEXT NOT NULL COMMENT 'the primary key (canonical JSON)',
      version BIGINT NULL COMMENT 'LWW version of the delete',
      origin VARCHAR(32) NOT NULL,
      deleted_at DATETIME(6) NOT NULL COMMENT 'for retention',
      PRIMARY KEY (schema_name, table_name, key_hash),
      KEY by_age (deleted_at)
    ) ENGINE=InnoDB`,
  ],
  [
    `CREATE TABLE IF NOT EXISTS drc_meta.conflicts (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      detected_at DATETIME(6) NOT NULL,
      ezone VARCHAR(32) NOT NULL COMMENT 'the ezone that saw the conflict',
      origin VARCHAR(32) NOT NULL COMMENT 'origin of the incoming change',
      schema_name VARCHAR(64) NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      key_json TEXT NOT NULL,
      reason VARCHAR(32) NOT NULL,
      decision VARCHAR(16) NOT NULL COMMENT 'applied or skipped (the incoming change)',
      incoming_version BIGINT NULL,
      local_version BIGINT NULL,
      incoming_image MEDIUMTEXT NULL,
      local_image MEDIUMTEXT NULL,
      origin_tx VARCHAR(255) NOT NULL,
      KEY by_time (detected_at),
      KEY by_table (schema_name, table_name, detected_at)
    ) ENGINE=InnoDB`,
  ],
  [
    // Tombstones written by appliers live apart from those capture writes for local deletes: capture
    // is then the only writer of drc_meta.tombstones, and an applier waiting for capture's coverage
    // can never hold a lock capture needs.
    `CREATE TABLE IF NOT EXISTS drc_meta.applied_tombstones LIKE drc_meta.tombstones`,
  ],
  [
    `CREATE TABLE IF NOT EXISTS drc_meta.lag (
      origin VARCHAR(32) NOT NULL PRIMARY KEY COMMENT 'ezone whose heartbeat this is',
      sent_at DATETIME(6) NOT NULL COMMENT 'when the origin wrote it (origin clock, UTC)',
      applied_at DATETIME(6) NOT NULL COMMENT 'when it became visible here (local clock, UTC)'
    ) ENGINE=InnoDB`,
  ],
  [
    `CREATE TABLE IF NOT EXISTS drc_meta.leader (
      ezone VARCHAR(32) NOT NULL PRIMARY KEY,
      owner VARCHAR(128) NOT NULL COMMENT 'the active daemon (host:pid:random)',
      term BIGINT UNSIGNED NOT NULL COMMENT 'grows at every takeover',
      expires_at DATETIME(6) NOT NULL COMMENT 'database clock'
    ) ENGINE=InnoDB`,
  ],
  [
    `CREATE TABLE IF NOT EXISTS drc_meta.leader_sessions (
      ezone VARCHAR(32) NOT NULL,
      owner VARCHAR(128) NOT NULL,
      connection_id BIGINT UNSIGNED NOT NULL COMMENT 'killed by the daemon that takes over (fencing)',
      PRIMARY KEY (ezone, owner, connection_id)
    ) ENGINE=InnoDB`,
  ],
  [
    // Source transactions set aside under apply.onError: quarantine (`drc quarantine list|retry|drop`);
    // utf8mb4 whatever the server's default: keys and names may be in any script.
    `CREATE TABLE IF NOT EXISTS drc_meta.quarantine (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      origin VARCHAR(32) NOT NULL COMMENT 'origin ezone of the source transaction',
      origin_tx VARCHAR(255) NOT NULL COMMENT 'source transaction id',
      origin_pos VARCHAR(1024) NOT NULL COMMENT 'origin binlog position after it',
      kafka_topic VARCHAR(255) NOT NULL,
      kafka_partition INT NOT NULL,
      kafka_offset BIGINT NOT NULL COMMENT 'offset of its message on the changes topic',
      tables_json TEXT NOT NULL COMMENT 'tables it writes (JSON array)',
      keys_json MEDIUMTEXT NOT NULL COMMENT 'keys it writes: they may diverge until it is retried or dropped',
      error_code VARCHAR(64) NOT NULL,
      error_message TEXT NOT NULL COMMENT 'redacted: no row values',
      message LONGBLOB NOT NULL COMMENT 'the source transaction (envelope JSON), for retry',
      quarantined_at DATETIME(6) NOT NULL,
      state VARCHAR(16) NOT NULL DEFAULT 'quarantined' COMMENT 'quarantined, applied or dropped',
      resolved_at DATETIME(6) NULL,
      resolution TEXT NULL COMMENT 'the last retry failure (redacted), or why it was dropped',
      KEY by_state (state, quarantined_at),
      KEY by_origin (origin, kafka_offset)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  [
    // The topic an applied offset belongs to: an offset means nothing in another topic (a changed
    // topic prefix, a recreated topic). NULL for positions recorded before this column existed.
    `ALTER TABLE drc_meta.apply_position ADD COLUMN topic VARCHAR(255) NULL COMMENT 'changes topic the offset is in'`,
  ],
  [
    // Room for what conflict and quarantine records hold (MEDIUMTEXT stops at 16 MB: the INSERT of a
    // conflict on a bigger row failed, and with it the apply of its transaction). Conflict images keep
    // values up to 64 KB whole anyway (apply/conflict-log.ts); a quarantined transaction's keys are many.
    `ALTER TABLE drc_meta.conflicts MODIFY incoming_image LONGTEXT NULL, MODIFY local_image LONGTEXT NULL`,
    `ALTER TABLE drc_meta.quarantine MODIFY keys_json LONGTEXT NOT NULL COMMENT 'keys it writes: they may diverge until it is retried or dropped'`,
  ],
  [
    // Applied tombstones keep the newest delete per key *and origin*: a change never meets its own
    // origin's earlier deletes (apply/resolver.ts), so a key deleted by two ezones must keep both.
    `ALTER TABLE drc_meta.applied_tombstones DROP PRIMARY KEY, ADD PRIMARY KEY (schema_name, table_name, key_hash, origin)`,
    // TRUNCATE TABLE (apply/truncate.ts): one row per table and origin, the newest truncate's version.
    // It holds back every insert or update of the table from another origin that is not newer; capture
    // writes the local ones, appliers the applied ones (apart, as for tombstones: no lock shared).
    `CREATE TABLE IF NOT EXISTS drc_meta.truncates (
      schema_name VARCHAR(64) NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      origin VARCHAR(32) NOT NULL COMMENT 'ezone where the TRUNCATE TABLE ran',
      version BIGINT NOT NULL COMMENT 'LWW version of the truncate (epoch microseconds)',
      truncated_at DATETIME(6) NOT NULL COMMENT 'when it was recorded here',
      PRIMARY KEY (schema_name, table_name, origin)
    ) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS drc_meta.applied_truncates LIKE drc_meta.truncates`,
  ],
  [
    // Unique keys (apply/unique-claims.ts): the newest image that ever claimed each unique value,
    // losers and removed rows included; expires with the tombstones (apply.tombstoneRetention).
    `CREATE TABLE IF NOT EXISTS drc_meta.unique_claims (
      claim_hash BINARY(32) NOT NULL PRIMARY KEY COMMENT 'sha256 of table, key columns and the value identity under the collation',
      schema_name VARCHAR(64) NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      key_columns TEXT NOT NULL COMMENT 'the unique key (JSON array of columns)',
      version BIGINT NULL COMMENT 'LWW version of the newest claimant',
      rank_text VARBINARY(512) NOT NULL COMMENT 'its tie-break text (prefix, UTF-16BE)',
      rank_hash BINARY(32) NOT NULL COMMENT 'sha256 of its whole tie-break text',
      key_json TEXT NOT NULL COMMENT 'primary key of the newest claimant',
      origin VARCHAR(32) NOT NULL,
      claimed_at DATETIME(6) NOT NULL COMMENT 'for retention',
      KEY by_age (claimed_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  [
    // Claims capture records for values local writes release live apart, as tombstones do: capture is
    // the only writer of local_claims, so an applier waiting for capture's coverage never holds a lock
    // capture needs. The one exception, `drc bootstrap`'s drop of a stale claim (apply/sql/claims.ts
    // dropStaleClaimsStatements), never waits for coverage and deletes there last, just before COMMIT.
    `CREATE TABLE IF NOT EXISTS drc_meta.local_claims LIKE drc_meta.unique_claims`,
  ],
  [
    // A key change's tombstone of its old key says where the row went (apply/fk-conflict.ts): a child
    // written elsewhere under the old key concurrently follows it there, as ON UPDATE CASCADE moved
    // the child in every ezone that had it before the key change.
    `ALTER TABLE drc_meta.tombstones ADD COLUMN moved_to TEXT NULL COMMENT 'a key change: the new primary key (wire JSON)'`,
    `ALTER TABLE drc_meta.applied_tombstones ADD COLUMN moved_to TEXT NULL COMMENT 'a key change: the new primary key (wire JSON)'`,
  ],
  [
    // When a local transaction that deletes happened, as capture first timed it (db/capture-receipts.ts):
    // a delete read again after a crash keeps the version it had the first time.
    `CREATE TABLE IF NOT EXISTS drc_meta.capture_receipts (
      tx_id VARCHAR(255) NOT NULL PRIMARY KEY COMMENT 'source transaction id (GTID, or the binlog position before it)',
      received_ms BIGINT NOT NULL COMMENT 'when its deletes count, as capture first timed them (epoch ms; capture/row-changes.ts deleteTime)',
      recorded_at DATETIME(6) NOT NULL
    ) ENGINE=InnoDB`,
  ],
  [
    // Children newer than their parent's delete wait here for the parent to come back (apply/fk-waiting.ts).
    `CREATE TABLE IF NOT EXISTS drc_meta.fk_waiting (
      schema_name VARCHAR(64) NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      key_hash BINARY(32) NOT NULL COMMENT 'sha256 of the canonical primary key',
      key_json TEXT NOT NULL COMMENT 'the primary key (canonical JSON)',
      version BIGINT NOT NULL COMMENT 'LWW version of the waiting image',
      image LONGTEXT NOT NULL COMMENT 'the key and the child image (wire JSON)',
      waiting_at DATETIME(6) NOT NULL COMMENT 'when it was last tried (the sweep takes the longest untried first)',
      stashed_at DATETIME(6) NOT NULL COMMENT 'when it was stashed; it expires with the tombstones (apply.tombstoneRetention)',
      PRIMARY KEY (schema_name, table_name, key_hash),
      KEY by_age (waiting_at),
      KEY by_stash (stashed_at)
    ) ENGINE=InnoDB`,
  ],
  [
    // Versioned routing (model/routing.ts, issue 17): one row per hash shard, seeded from the config's
    // ownership.routing the first time (db/routing-store.ts), replicated like the heartbeat and versioned
    // by `version` (last-writer-wins: the newer routing version wins everywhere). `drc guard` triggers
    // read it with a locking read, so a ban waits for the writes in flight on its shards.
    // Rows are per topology (its kafka.topicPrefix): a server holds one in production, several under tests.
    `CREATE TABLE IF NOT EXISTS drc_meta.routing (
      topology VARCHAR(255) NOT NULL COMMENT 'kafka.topicPrefix of the DRC topology',
      shard INT UNSIGNED NOT NULL,
      owner VARCHAR(32) NOT NULL COMMENT 'the ezone that writes the shard',
      state VARCHAR(8) NOT NULL COMMENT 'owned, or banned (a switchover is moving it: nobody writes it)',
      version BIGINT NOT NULL COMMENT 'routing version that last changed the shard',
      prev_owner VARCHAR(32) NULL COMMENT 'owner before that change',
      moving_to VARCHAR(32) NULL COMMENT 'while banned: the ezone it moves to',
      PRIMARY KEY (topology, shard)
    ) ENGINE=InnoDB`,
    // `drc switchover`'s persisted state machine (admin/switchover.ts), written in the old owner's database
    // and replicated: its fence step is a write of this row that the new owner must have applied.
    `CREATE TABLE IF NOT EXISTS drc_meta.switchovers (
      id VARCHAR(64) NOT NULL PRIMARY KEY,
      topology VARCHAR(255) NOT NULL COMMENT 'kafka.topicPrefix of the DRC topology',
      shard_from INT UNSIGNED NOT NULL,
      shard_to INT UNSIGNED NOT NULL,
      from_ezone VARCHAR(32) NOT NULL,
      to_ezone VARCHAR(32) NOT NULL,
      state VARCHAR(16) NOT NULL COMMENT 'started, banned, fenced, flipped, done, rolled-back',
      ban_version BIGINT NULL,
      flip_version BIGINT NULL,
      reason TEXT NULL COMMENT 'why it rolled back',
      started_at DATETIME(6) NOT NULL,
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
      KEY by_topology (topology, started_at)
    ) ENGINE=InnoDB`,
  ],
  [
    // `drc bootstrap` runs into this ezone, one row per table copied (admin/bootstrap-state.ts): what
    // --resume continues from, and where a run in progress stands.
    `CREATE TABLE IF NOT EXISTS drc_meta.bootstrap (
      schema_name VARCHAR(64) NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      source VARCHAR(32) NOT NULL COMMENT 'the ezone copied from',
      status VARCHAR(16) NOT NULL COMMENT 'copying | copied | verified | failed',
      done_through TEXT NULL COMMENT 'JSON array: the HEX primary key up to which every chunk is written (NULL: none yet)',
      rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'rows written (or already identical) up to done_through',
      rows_skipped BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'rows that lost to a newer row or tombstone here',
      rows_estimate BIGINT UNSIGNED NULL COMMENT 'the source table''s row estimate when the run started',
      chunks BIGINT UNSIGNED NOT NULL DEFAULT 0,
      start_positions TEXT NOT NULL COMMENT 'JSON {origin: next Kafka offset this ezone had applied}: the live stream''s start point',
      created_table TINYINT NOT NULL DEFAULT 0 COMMENT '1: the table was created from the source''s SHOW CREATE TABLE',
      started_at DATETIME(6) NOT NULL,
      updated_at DATETIME(6) NOT NULL,
      PRIMARY KEY (schema_name, table_name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
  [
    // Key identities: a character value whose padded weight is cut short is identified by its weights
    // padded to 8n (db/collation-weight.ts: 'kßz' in a VARCHAR(3) under utf8mb4_unicode_ci was identified
    // as 'kss'). Version 1 rows, recorded before, are also looked up by the padded identity until they
    // expire (db/tombstones.ts).
    `ALTER TABLE drc_meta.tombstones ADD COLUMN identity_version TINYINT NOT NULL DEFAULT 1 COMMENT '2: a cut padded weight is identified by its 8n weights (db/collation-weight.ts)'`,
    `ALTER TABLE drc_meta.applied_tombstones ADD COLUMN identity_version TINYINT NOT NULL DEFAULT 1 COMMENT '2: a cut padded weight is identified by its 8n weights (db/collation-weight.ts)'`,
  ],
  [
    // A forced switchover's cut (admin/switchover-forced.ts): the next offset of the old owner's changes
    // topic the new owner had applied when the flip was written. The old owner's changes before it were
    // there before the flip; those at or after it that were written under the older routing are late
    // (conflict `forced-late`) where they are applied once the flip is known there (README: the
    // exceptions).
    `ALTER TABLE drc_meta.switchovers ADD COLUMN cut_offset BIGINT UNSIGNED NULL COMMENT 'forced: next offset of the old owner''s changes topic the new owner had applied at the flip'`,
  ],
  [
    // The forced flips an applier reads twice in each transaction of a routed table (db/routing-store.ts
    // forcedFlipsStatement): by topology and old owner, not a scan of every switchover the topology had.
    `ALTER TABLE drc_meta.switchovers ADD KEY forced (topology, from_ezone, state, ban_version)`,
  ],
  [
    // `drc bootstrap` of tables without a version column (db/bootstrap-journal.ts): the tables whose
    // every row change this ezone's capture journals while the copy runs, the keys it journaled, and
    // how far its journal (with its tombstones) is complete, for the copy to wait on.
    `CREATE TABLE IF NOT EXISTS drc_meta.bootstrap_journal (
      schema_name VARCHAR(64) NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      registered_at DATETIME(6) NOT NULL,
      acked_from TEXT NULL COMMENT 'the binlog position after which capture journals every change of the table (NULL: not yet)',
      PRIMARY KEY (schema_name, table_name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE IF NOT EXISTS drc_meta.bootstrap_keys (
      schema_name VARCHAR(64) NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      key_hash BINARY(32) NOT NULL COMMENT 'the key identity, as tombstones store it (db/key-identity.ts)',
      key_json TEXT NOT NULL,
      origin VARCHAR(32) NOT NULL COMMENT 'the change''s origin (this ezone: a local write)',
      journaled_at DATETIME(6) NOT NULL,
      PRIMARY KEY (schema_name, table_name, key_hash)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE IF NOT EXISTS drc_meta.journal_coverage (
      id TINYINT NOT NULL PRIMARY KEY,
      covered TEXT NOT NULL COMMENT 'every transaction of this binlog up to here has its journal keys and tombstones recorded',
      updated_at DATETIME(6) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
  [
    // Forgetting a table's journal (db/bootstrap-journal.ts forgetJournal): bootstrap asks, capture
    // acknowledges the binlog position after which it journals the table no more; the keys go after.
    `ALTER TABLE drc_meta.bootstrap_journal
       ADD COLUMN forget TINYINT NOT NULL DEFAULT 0 COMMENT '1: bootstrap asks capture to stop journaling the table',
       ADD COLUMN dropped_from TEXT NULL COMMENT 'the binlog position after which capture journals the table no more (NULL: not yet)'`,
  ],
  [
    // Where capture started while its changes topic holds nothing yet (db/capture-start.ts): a daemon
    // that dies before its first Kafka commit starts there again, not at the binlog end.
    `CREATE TABLE IF NOT EXISTS drc_meta.capture_start (
      topic VARCHAR(255) NOT NULL PRIMARY KEY COMMENT 'the changes topic capture publishes to',
      position TEXT NOT NULL COMMENT 'the binlog position capture first started at',
      recorded_at DATETIME(6) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
  [
    // The routing in force at that start (issue 17): the binlog read again from there is judged by it.
    `ALTER TABLE drc_meta.capture_start ADD COLUMN routing MEDIUMTEXT NULL COMMENT 'the routing in force at position (packRoutes); NULL: none kept'`,
  ],
  [
    // A cascade victim's tombstone (apply/fk-cascade.ts): the version of the row the cascade removed,
    // when older than the delete. As a row's tombstone it holds back only writes not newer than that;
    // a write between the two is judged by its parent (a write that had moved the row to another
    // parent is applied, as in the delete's own ezone, which records no tombstone for its cascade).
    `ALTER TABLE drc_meta.tombstones ADD COLUMN row_version BIGINT NULL COMMENT 'a cascade victim: the version of the row removed (older than the delete); NULL: the delete''s own'`,
    `ALTER TABLE drc_meta.applied_tombstones ADD COLUMN row_version BIGINT NULL COMMENT 'a cascade victim: the version of the row removed (older than the delete); NULL: the delete''s own'`,
  ],
  [
    // A key keeps one tombstone row, its newest event: a key change of a parent replaced the tombstone
    // of an older delete of the same key, and a child older than that delete followed the move instead
    // of going with it (db/tombstones.ts deleteTombstonesStatement). The newest delete (not a key
    // change, not a loser's removal) is kept beside the newest event; rows recorded before say it.
    ...(['tombstones', 'applied_tombstones'] as const).flatMap((t) => [
      `ALTER TABLE drc_meta.${t} ADD COLUMN delete_version BIGINT NULL COMMENT 'the newest delete of the key (not a key change, not a loser''s removal); NULL: none', ADD COLUMN delete_origin VARCHAR(32) NULL COMMENT 'the ezone of that delete'`,
      `UPDATE drc_meta.${t} SET delete_version = version, delete_origin = origin WHERE moved_to IS NULL AND origin <> '*unique'`,
    ]),
  ],
];

/** Create or migrate drc_meta (idempotent; serialised across daemons with a named lock). */
export async function ensureMetaSchema(conn: mysql.Connection | mysql.PoolConnection): Promise<void> {
  await conn.query(`CREATE DATABASE IF NOT EXISTS ${META_SCHEMA}`);
  const [[lock]] = await conn.query<mysql.RowDataPacket[]>("SELECT GET_LOCK('drc_meta.migrate', 60) AS ok");
  if (!lock || Number(lock.ok) !== 1) throw new Error('could not take the drc_meta migration lock within 60 s');
  try {
    await conn.query(`CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.schema_version (id TINYINT NOT NULL PRIMARY KEY, version INT NOT NULL) ENGINE=InnoDB`);
    const [[row]] = await conn.query<mysql.RowDataPacket[]>(`SELECT version FROM ${META_SCHEMA}.schema_version WHERE id = 1`);
    const current = row ? Number(row.version) : 0;
    for (let v = current; v < MIGRATIONS.length; v++) {
      for (const sql of MIGRATIONS[v] ?? []) await conn.query(sql);
      await conn.query(`REPLACE INTO ${META_SCHEMA}.schema_version (id, version) VALUES (1, ?)`, [v + 1]);
    }
  } finally {
    await conn.query("SELECT RELEASE_LOCK('drc_meta.migrate')");
  }
}
