import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlockError, FencedError, SchemaMismatchError, ValueRejectedError, type DrcError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import { retryDelayMs } from './backoff.js';
import { Supervisor, type SupervisorOptions } from './supervisor.js';

/** A logger that records (level, fields, message). */
function recordingLog() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg });
  const log = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } as unknown as Logger;
  return { log, lines, at: (level: string) => lines.filter((l) => l.level === level) };
}

function supervisor(over: Partial<SupervisorOptions> = {}) {
  const rec = recordingLog();
  const calls = { teardown: 0, restart: 0, fatal: [] as DrcError[] };
  const options: SupervisorOptions = {
    name: 'apply from a',
    log: rec.log,
    initialDelayMs: 100,
    maxDelayMs: 10_000,
    giveUpAfterMs: 60_000,
    pausedRetryMs: 2000,
    teardown: async () => {
      calls.teardown++;
    },
    restart: async () => {
      calls.restart++;
    },
    onFatal: (err) => calls.fatal.push(err),
    context: () => ({ position: '0-1-42' }),
    ...over,
  };
  return { sup: new Supervisor(options), rec, calls };
}

const rejected = () => new ValueRejectedError("Data too long for column 'name' at row 1", { context: { table: 'app.users', errno: 1406 } });

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0.5); // no jitter unless a test asks for it
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('retryDelayMs', () => {
  it('doubles from the initial delay, jitters ±25 % and never exceeds the cap', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 100, 10_000, mid))).toEqual([100, 200, 400, 800, 1600]);
    expect(retryDelayMs(1, 100, 10_000, () => 0)).toBe(75);
    expect(retryDelayMs(1, 100, 10_000, () => 1)).toBe(125);
    expect(retryDelayMs(8, 100, 10_000, () => 1)).toBe(10_000);
    expect(retryDelayMs(200, 100, 10_000, () => 0)).toBe(10_000);
  });
});

describe('Supervisor', () => {
  it('tears down, waits the backoff, restarts; the delay grows with each failure and is capped', async () => {
    const { sup, calls } = supervisor({ maxDelayMs: 300 });
    void sup.fail(new DeadlockError('Deadlock found when trying to get lock; try restarting transaction'));
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toMatchObject({ teardown: 1, restart: 0 });
    expect(sup.state.status).toBe('retrying');
    await vi.advanceTimersByTimeAsync(100);
    expect(calls.restart).toBe(1);

    const restartAt = async (failures: number) => {
      void sup.fail(rejected());
      const before = calls.restart;
      let waited = 0;
      while (calls.restart === before) {
        await vi.advanceTimersByTimeAsync(10);
        waited += 10;
      }
      expect(sup.state.failures).toBe(failures);
      return waited;
    };
    expect(await restartAt(2)).toBe(200);
    expect(await restartAt(3)).toBe(300); // 400 capped at 300
    expect(await restartAt(4)).toBe(300);
  });

  it('is single-flight: failures reported during a recovery join it', async () => {
    const { sup, calls } = supervisor();
    const first = sup.fail(rejected());
    const second = sup.fail(new Error('another symptom of the same failure'));
    expect(second).toBe(first);
    expect(sup.recovering).toBe(first);
    await vi.advanceTimersByTimeAsync(1000);
    await first;
    expect(calls).toMatchObject({ teardown: 1, restart: 1 });
    expect(sup.state.failures).toBe(1);
    expect(sup.recovering).toBeUndefined();
  });

  it('counts a restart that throws as one more failure and retries it', async () => {
    let attempts = 0;
    const { sup, calls } = supervisor({
      restart: async () => {
        attempts++;
        if (attempts < 3) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED', errno: -111 });
      },
    });
    const done = sup.fail(rejected());
    await vi.advanceTimersByTimeAsync(100 + 200 + 400);
    await done;
    expect(attempts).toBe(3);
    expect(calls.teardown).toBe(3);
    expect(sup.state.failures).toBe(3);
    expect(sup.state.lastError?.code).toBe('DRC_DB_CONNECTION');
  });

  it('pauses once the window passes without progress: one error line with code and context, no row values', async () => {
    const { sup, rec } = supervisor();
    // The stream restarts fine each time, then fails on the same row again.
    for (let t = 0; t < 70_000; t += 500) {
      void sup.fail(rejected());
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(sup.state.status).toBe('paused');
    const errors = rec.at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/stream paused/);
    expect(errors[0]?.fields).toMatchObject({ stream: 'apply from a', code: 'DRC_VALUE_REJECTED', table: 'app.users', position: '0-1-42', errno: 1406 });
    expect(errors[0]?.fields.failingForMs).toBeGreaterThanOrEqual(60_000);
    expect(errors[0]?.fields.failingForMs).toBeLessThan(61_000);
    expect(sup.state.lastError).toMatchObject({ code: 'DRC_VALUE_REJECTED', context: { table: 'app.users', position: '0-1-42' } });
  });

  it('pauses exactly at the end of the window even while a long backoff is under way', async () => {
    const { sup, rec } = supervisor({ initialDelayMs: 50_000, maxDelayMs: 50_000, giveUpAfterMs: 10_000 });
    void sup.fail(new SchemaMismatchError('table app.t has no column c here', { table: 'app.t' }));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(sup.state.status).toBe('retrying');
    await vi.advanceTimersByTimeAsync(1);
    expect(sup.state.status).toBe('paused');
    expect(rec.at('error')).toHaveLength(1);
  });

  it('retries a paused stream at the paused pace and resumes with one info line on progress', async () => {
    let broken = true;
    const { sup, rec, calls } = supervisor({
      giveUpAfterMs: 1000,
      restart: async () => {
        calls.restart++;
        if (broken) throw rejected();
      },
    });
    void sup.fail(rejected());
    await vi.advanceTimersByTimeAsync(1000);
    expect(sup.state.status).toBe('paused');
    const before = calls.restart;
    await vi.advanceTimersByTimeAsync(1999);
    expect(calls.restart - before).toBeLessThanOrEqual(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls.restart - before).toBe(2);

    broken = false;
    await vi.advanceTimersByTimeAsync(2000);
    sup.progressed();
    expect(sup.state).toMatchObject({ status: 'running', failures: 0, failingSince: undefined });
    sup.progressed();
    expect(rec.at('info')).toHaveLength(1);
    expect(rec.at('info')[0]?.msg).toBe('stream resumed');
    expect(rec.at('error')).toHaveLength(1);
  });

  it('does not pause when progress comes within the window, and starts a fresh window afterwards', async () => {
    const { sup } = supervisor({ giveUpAfterMs: 1000 });
    void sup.fail(rejected());
    await vi.advanceTimersByTimeAsync(900);
    sup.progressed();
    expect(sup.state.status).toBe('running');
    await vi.advanceTimersByTimeAsync(500);
    expect(sup.state.status).toBe('running');
    void sup.fail(rejected()); // t = 1400: a new run of failures, a new window
    await vi.advanceTimersByTimeAsync(999);
    expect(sup.state.status).toBe('retrying');
    void sup.fail(rejected());
    await vi.advanceTimersByTimeAsync(1);
    expect(sup.state.status).toBe('paused');
  });

  it('counts a restart that runs a whole window without failing as recovered (an idle stream has nothing to commit)', async () => {
    const { sup, rec } = supervisor({ giveUpAfterMs: 1000 });
    void sup.fail(new DeadlockError('Deadlock found when trying to get lock; try restarting transaction'));
    await vi.advanceTimersByTimeAsync(100); // restarted
    await vi.advanceTimersByTimeAsync(5000);
    expect(sup.state).toMatchObject({ status: 'running', failures: 0 });
    expect(rec.at('error')).toHaveLength(0);
  });

  it('pauses at the first failure after the window when the window ends between a restart and that failure', async () => {
    const { sup, rec } = supervisor({ giveUpAfterMs: 1000 });
    void sup.fail(rejected());
    await vi.advanceTimersByTimeAsync(100); // restarted at 100: the window ends at 1000 with no new failure yet
    await vi.advanceTimersByTimeAsync(950);
    expect(sup.state.status).toBe('retrying');
    void sup.fail(rejected()); // the same row fails again: the cause persists
    expect(sup.state.status).toBe('paused');
    expect(rec.at('error')).toHaveLength(1);
    expect(rec.at('warn')).toHaveLength(1);
  });

  it('on a fatal error calls onFatal once, after teardown, and never restarts', async () => {
    const { sup, calls, rec } = supervisor();
    const fenced = new FencedError(new Error('PRODUCER_FENCED'));
    await sup.fail(fenced);
    await sup.fail(rejected());
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls.fatal).toEqual([fenced]);
    expect(calls).toMatchObject({ teardown: 1, restart: 0 });
    expect(sup.state.status).toBe('stopped');
    expect(rec.at('error')).toHaveLength(1);
    expect(rec.at('error')[0]?.fields).toMatchObject({ code: 'DRC_FENCED' });
  });

  it('stops a restart that turns out fatal', async () => {
    const { sup, calls } = supervisor({
      restart: async () => {
        throw new FencedError(undefined);
      },
    });
    void sup.fail(rejected());
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.fatal).toHaveLength(1);
    expect(calls.teardown).toBe(2);
  });

  it('stop() ends a recovery under way without restarting', async () => {
    const { sup, calls } = supervisor({ initialDelayMs: 5000 });
    const done = sup.fail(rejected());
    await vi.advanceTimersByTimeAsync(10);
    sup.stop();
    await done; // resolves without waiting for the backoff
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.restart).toBe(0);
    expect(sup.state.status).toBe('stopped');
    await sup.fail(rejected());
    expect(calls.teardown).toBe(1);
  });
});
