import { describe, expect, it } from 'vitest';
import { scheduledDelay } from './kafkajs-patches.js';

describe('kafkajs patches', () => {
  it('requestQueue/index.js scheduleCheckPendingRequests: an idle, never throttled queue gets a 1 ms timer, not -1.8e12 ms (TimeoutNegativeWarning on Node ≥ 23)', () => {
    expect(scheduledDelay({ throttledUntil: -1, pending: [] })).toBe(1);
  });

  it('keeps kafkajs behaviour otherwise: its 10 ms re-check while requests wait, the throttle time while throttled', () => {
    expect(scheduledDelay({ throttledUntil: -1, pending: [{}] })).toBe(10);
    const delay = scheduledDelay({ throttledUntil: Date.now() + 500, pending: [{}] });
    expect(delay).toBeGreaterThan(400);
    expect(delay).toBeLessThanOrEqual(500);
  });
});
