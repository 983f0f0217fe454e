/** The origin of `drc bootstrap`'s copied rows (apply/copy-marker.ts): capture never journals them (db/bootstrap-journal.ts). */
export const COPY_ORIGIN = 'drc-bootstrap';
