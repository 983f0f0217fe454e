/**
 * Kafka's answers that mean another producer with our transactional id took over (a zombie must
 * stop), by protocol error name: the same for every client adapter.
 */
export const FENCING_ANSWERS: ReadonlySet<string> = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);
