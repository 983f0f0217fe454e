/**
 * The driver errors apply decides on, by errno (never by message text). PRIVATE STOPGAP: the errors
 * helper's src/db/mysql-errors.ts takes its place (same names); nothing else should import this file.
 */

const ER_DUP_ENTRY = 1062;
const ER_LOCK_DEADLOCK = 1213;

const errnoOf = (err: unknown): number | undefined => (err as { errno?: number } | undefined)?.errno;

/** A write met an existing primary or unique key value. */
export const isDuplicateKey = (err: unknown): boolean => errnoOf(err) === ER_DUP_ENTRY;

/** InnoDB chose this transaction as a deadlock victim (it was rolled back; running it again is safe). */
export const isDeadlock = (err: unknown): boolean => errnoOf(err) === ER_LOCK_DEADLOCK;
