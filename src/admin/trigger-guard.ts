/**
 * `drc triggers guard`, the decision: how a trigger on a replicated table is rewritten so that its
 * body does nothing in DRC's applier sessions (db/applier-mark.ts), as a native row-based replica
 * does not fire triggers. Pure: triggers.ts reads the definitions and runs the statements.
 *
 * The rewrite wraps the body, whatever it is (one statement, or a labelled BEGIN … END with DECLAREs,
 * handlers and LEAVE), in one IF statement; a compound statement may stand inside IF, and labels and
 * LEAVE keep their meaning inside it:
 *
 *     IF @drc_applier IS NULL THEN
 *     <body, byte for byte>
 *     ; END IF
 *
 * The newline before `;` ends a `-- comment` or `# comment` the body may end with (the server keeps
 * comments in the stored body). This exact form is how a guarded trigger is recognised: guarding is
 * idempotent.
 */
import { APPLIER_MARK_VARIABLE } from '../db/applier-mark.js';

/** One trigger as information_schema.TRIGGERS describes it. */
export interface TriggerDefinition {
  schema: string;
  name: string;
  table: string;
  timing: string;
  event: string;
  /** ACTION_ORDER: the position among the table's triggers of the same timing and event, from 1. */
  order: number;
  /** Null when the account reading it lacks the TRIGGER privilege on the table (the server hides it). */
  body: string | null;
  /** `user@host`, as information_schema prints it; null like `body`. */
  definer: string | null;
  sqlMode: string;
  characterSetClient: string;
  collationConnection: string;
}

/**
 * guarded: in the form DRC writes; custom: names the applier mark otherwise (written by hand);
 * unguarded: neither; unreadable: the server hid the body from this account.
 */
export type GuardState = 'guarded' | 'custom' | 'unguarded' | 'unreadable';

const GUARD_OPEN = `IF ${APPLIER_MARK_VARIABLE} IS NULL THEN\n`;
const GUARD_CLOSE = '\n; END IF';

export function guardStateOf(body: string | null): GuardState {
  if (body === null) return 'unreadable';
  if (body.startsWith(GUARD_OPEN) && body.endsWith(GUARD_CLOSE)) return 'guarded';
  return body.toLowerCase().includes(APPLIER_MARK_VARIABLE.slice(1)) ? 'custom' : 'unguarded';
}

/** The body that skips applier sessions and runs `body` unchanged in every other session. */
export const guardedBody = (body: string): string => `${GUARD_OPEN}${body}${GUARD_CLOSE}`;

/** An identifier in backticks (valid whatever the sql_mode, ANSI_QUOTES included). */
export const quoteIdent = (name: string): string => `\`${name.replaceAll('`', '``')}\``;

/** `user@host` → `` `user`@`host` `` (a user name may hold '@'; a host may not). */
export function definerSql(definer: string): string {
  const at = definer.lastIndexOf('@');
  if (at < 0) throw new Error(`definer ${definer} is not user@host`);
  return `${quoteIdent(definer.slice(0, at))}@${quoteIdent(definer.slice(at + 1))}`;
}

/**
 * FOLLOWS / PRECEDES that put a re-created trigger back at its place among `siblings` (the triggers
 * of the same table, timing and event, itself included): a replaced trigger would otherwise fire last.
 */
export function placementSql(trigger: TriggerDefinition, siblings: TriggerDefinition[]): string {
  const others = siblings.filter((t) => t.name !== trigger.name).sort((x, y) => x.order - y.order);
  const before = others.filter((t) => t.order < trigger.order).at(-1);
  if (before) return ` FOLLOWS ${quoteIdent(before.name)}`;
  const after = others[0];
  return after ? ` PRECEDES ${quoteIdent(after.name)}` : '';
}

/** The CREATE TRIGGER statement of `trigger` with `body` (MariaDB replaces it atomically). */
export function createTriggerSql(trigger: TriggerDefinition & { definer: string }, body: string, placement: string, orReplace: boolean): string {
  const name = `${quoteIdent(trigger.schema)}.${quoteIdent(trigger.name)}`;
  const table = `${quoteIdent(trigger.schema)}.${quoteIdent(trigger.table)}`;
  return `CREATE ${orReplace ? 'OR REPLACE ' : ''}DEFINER=${definerSql(trigger.definer)} TRIGGER ${name} ${trigger.timing} ${trigger.event} ON ${table} FOR EACH ROW${placement} ${body}`;
}

/** Character sets whose bytes for any text DRC's connection sends (utf8mb4) mean the same text. */
const UTF8 = /^utf8(mb3|mb4)?$/i;
const NAME = /^[A-Za-z0-9_]+$/;

/** Session settings a trigger stores at creation, set before re-creating it so it keeps them. */
export interface TriggerSession {
  sqlMode: string;
  characterSetClient: string;
  collationConnection: string;
}

export type GuardPlan =
  | { action: 'guard'; session: TriggerSession; body: string; statements: string[]; restore: string[] }
  | { action: 'already-guarded' }
  | { action: 'skip'; reason: string; custom: boolean };

/**
 * What guarding `trigger` takes. MariaDB: one CREATE OR REPLACE TRIGGER (atomic). MySQL, which has no
 * OR REPLACE for triggers: DROP and CREATE under LOCK TABLES … WRITE, so no write to the table runs
 * between them; `restore` re-creates the original if the CREATE fails.
 */
export function planGuard(trigger: TriggerDefinition, siblings: TriggerDefinition[], flavor: 'mariadb' | 'mysql'): GuardPlan {
  const state = guardStateOf(trigger.body);
  if (state === 'guarded') return { action: 'already-guarded' };
  if (state === 'unreadable' || trigger.body === null || trigger.definer === null) {
    return { action: 'skip', custom: false, reason: 'this account cannot read its definition (the server hides body and definer without the TRIGGER privilege on the table): run with --user and --password-env of an account that has it' };
  }
  if (state === 'custom') {
    return { action: 'skip', custom: true, reason: `its body names ${APPLIER_MARK_VARIABLE} but not in the form DRC writes: left as it is — check by hand that it does nothing while ${APPLIER_MARK_VARIABLE} is set` };
  }
  if (!NAME.test(trigger.characterSetClient) || !NAME.test(trigger.collationConnection)) {
    return { action: 'skip', custom: false, reason: `unexpected character_set_client ${trigger.characterSetClient} / collation_connection ${trigger.collationConnection}: guard it by hand` };
  }
  // DRC sends statements as UTF-8: outside printable ASCII, a body stored under another client charset would not
  // read back the same. Not guessed: said.
  if (!UTF8.test(trigger.characterSetClient) && /[^ -~\t\n\r]/.test(trigger.body)) {
    return { action: 'skip', custom: false, reason: `its body holds non-ASCII text and was created with character_set_client ${trigger.characterSetClient}: guard it by hand (SET NAMES ${trigger.characterSetClient}, then CREATE OR REPLACE TRIGGER with the body wrapped in IF ${APPLIER_MARK_VARIABLE} IS NULL THEN … END IF)` };
  }
  const readable = { ...trigger, body: trigger.body, definer: trigger.definer };
  const session = { sqlMode: trigger.sqlMode, characterSetClient: trigger.characterSetClient, collationConnection: trigger.collationConnection };
  const body = guardedBody(trigger.body);
  const placement = placementSql(trigger, siblings);
  if (flavor === 'mariadb') return { action: 'guard', session, body, statements: [createTriggerSql(readable, body, placement, true)], restore: [] };
  const table = `${quoteIdent(trigger.schema)}.${quoteIdent(trigger.table)}`;
  return {
    action: 'guard',
    session,
    body,
    statements: [`LOCK TABLES ${table} WRITE`, `DROP TRIGGER ${quoteIdent(trigger.schema)}.${quoteIdent(trigger.name)}`, createTriggerSql(readable, body, placement, false), 'UNLOCK TABLES'],
    restore: [createTriggerSql(readable, trigger.body, placement, false), 'UNLOCK TABLES'],
  };
}

/** The statements that give a session the settings a trigger was created under. */
export const sessionSql = (s: TriggerSession): { sql: string; params: string[] }[] => [
  { sql: 'SET SESSION sql_mode = ?', params: [s.sqlMode] },
  { sql: `SET SESSION character_set_client = ${s.characterSetClient}, collation_connection = ${s.collationConnection}`, params: [] },
];
