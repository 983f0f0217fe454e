/**
 * The mark of DRC's applier sessions, part of DRC's contract with the schemas it replicates.
 *
 * A native row-based replica does not fire triggers: the origin's triggers already ran there and their
 * effects (an audit row, a date set by a BEFORE trigger) are in the binlog as rows of their own. DRC's
 * appliers write through ordinary sessions, so the peer's triggers would fire again: an audit row twice,
 * a date overwritten by the peer's clock. Every DRC session that writes replicated rows sets this user
 * variable at connect; a trigger skips its body while it is set (`drc triggers guard` rewrites triggers
 * so: `IF @drc_applier IS NULL THEN <body>; END IF`). Local sessions never set it.
 */
export const APPLIER_MARK_VARIABLE = '@drc_applier';

/** The statement that marks a session as DRC's applier. */
export const MARK_APPLIER_SESSION_SQL = `SET ${APPLIER_MARK_VARIABLE} = 1`;
