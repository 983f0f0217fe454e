/** The marker of `drc bootstrap`'s writes (copy-applier.ts), apart so the apply path can tell them without importing the applier. */
/**
 * The marker slots of bootstrap copies: one per chunk in flight, counted down from 65534 (beside the
 * repairs' 65535), far above every stream's (origins × 64): chunks written at once never wait on one
 * another's marker row, nor on the stream's.
 */
export const COPY_SLOT = 65_534;
/** Slots at most (more chunks at once than this share slots, and only wait on one another). */
export const COPY_SLOTS = 1024;
/** The marker's origin, the incoming origin and the source transaction id of copied rows. */
export { COPY_ORIGIN } from '../model/copy-origin.js';
