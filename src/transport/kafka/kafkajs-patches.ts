/**
 * Fixes below DRC for kafkajs 2.2.4 (unmaintained since 2023), applied once when the Kafka adapter
 * loads. Each names the kafkajs line it corrects.
 *
 * - src/network/requestQueue/index.js, `scheduleCheckPendingRequests`: `let scheduleAt =
 *   this.throttledUntil - Date.now()` with `throttledUntil` at its initial -1 and nothing pending hands
 *   `setTimeout` a negative delay of about -1.8e12 ms. Node ≥ 23 prints a TimeoutNegativeWarning for it
 *   on stderr (seen in every daemon on Node 24); the timer then fires after 1 ms as before. The patch
 *   clamps the delay at 1 ms, which is what Node did and does: behaviour is unchanged, the warning goes.
 * - src/network/connection.js, `connect`: a failed TLS verification (an untrusted certificate, a name
 *   mismatch) rejects with a KafkaJSConnectionError that is retriable like a lost connection, so every
 *   retrier above it (client 8 times, then the caller's) tries again for half a minute before anyone
 *   hears of a wrong CA. The patch marks it not retriable (by Node's code, transport/tls-failure.ts):
 *   it fails at once and kafka-errors.ts names the broker, kafka.ssl.ca and the file.
 */
import { createRequire } from 'node:module';
import { TLS_CODE } from '../tls-failure.js';

interface RequestQueueLike {
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueLike };
const Connection = require('kafkajs/src/network/connection.js') as { prototype: { connect(): Promise<unknown> } };

/** kafkajs's own interval for re-checking pending requests (requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;
const PATCHED = Symbol.for('drc.kafkajs.requestQueue.patched');

/** kafkajs's `scheduleCheckPendingRequests`, with the delay clamped at 1 ms (what Node used anyway). */
function scheduleCheckPendingRequests(this: RequestQueueLike): void {
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.throttleCheckTimeoutId) return;
  if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    Math.max(1, scheduleAt),
  );
}

/** A connection error that is a failed TLS verification is not worth retrying. */
export function markTlsFailureFinal(err: unknown): unknown {
  const e = err as { name?: string; code?: unknown; retriable?: boolean };
  if (e?.name === 'KafkaJSConnectionError' && typeof e.code === 'string' && TLS_CODE.test(e.code)) e.retriable = false;
  return err;
}

/** Apply the patches (idempotent). */
export function patchKafkajs(): void {
  const proto = RequestQueue.prototype as RequestQueueLike & { [PATCHED]?: true };
  if (proto[PATCHED]) return;
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  proto[PATCHED] = true;
  const connection = Connection.prototype;
  const connect = connection.connect;
  connection.connect = function (this: unknown) {
    return connect.call(this).catch((err: unknown) => {
      throw markTlsFailureFinal(err);
    });
  };
}

/** The delay kafkajs would hand setTimeout for a queue in this state (exported for the test). */
export function scheduledDelay(queue: Pick<RequestQueueLike, 'throttledUntil' | 'pending'>): number {
  let delay = -1;
  const fake = { ...queue, throttleCheckTimeoutId: null, checkPendingRequests: () => undefined } as RequestQueueLike;
  const real = globalThis.setTimeout;
  globalThis.setTimeout = ((_fn: () => void, ms: number) => {
    delay = ms;
    return 0 as unknown as ReturnType<typeof setTimeout>;
  }) as typeof setTimeout;
  try {
    RequestQueue.prototype.scheduleCheckPendingRequests.call(fake);
  } finally {
    globalThis.setTimeout = real;
  }
  return delay;
}

patchKafkajs();
