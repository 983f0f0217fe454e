/**
 * One supervisor per stream (capture, and each apply origin): retry with jittered backoff, give up
 * loudly when failures persist, stop on a fatal error (Vitess controller.go + last_error.go).
 *
 * CONTRACT (issue 11): the signatures below are agreed between the stages and the supervisor.
 *
 * Decisions are made by the error's class (DrcError.retryable / DrcError.fatal), never by message text:
 * - fatal: `teardown`, then `onFatal` once; the stream stays stopped (fenced, replaced, binlog metadata missing);
 * - otherwise: `teardown`, backoff, `restart`. Failures count until the stream reports `progressed()`
 *   (gh-ost: count failures only while no progress is made), or until a restart has run a whole
 *   `giveUpAfterMs` without failing again (an idle stream has nothing to commit after a transient
 *   failure). When failures persist for `giveUpAfterMs` since the first one (a recovery is under way,
 *   or the stream failed again since its last restart), the stream is *paused*: status 'paused', exactly one
 *   error-level log line with the error's code and context (table, position; never row values), and it
 *   keeps trying every `pausedRetryMs` — a paused stream resumes by itself once the cause is fixed.
 * - transient (retryable) and deterministic errors alike pause after the window: an operator must know
 *   about a database that stays unreachable as much as about a value the target keeps rejecting.
 */
import type { DrcError, ErrorContext } from '../errors.js';
import type { StreamState } from '../model/stats.js';
import type { Logger } from '../ops/logger.js';
import { retryDelayMs } from './backoff.js';
import { classifyError } from './classify.js';

export interface SupervisorOptions {
  /** The stream, for logs and health: e.g. `capture`, `apply from b`. */
  name: string;
  log: Logger;
  /** First retry delay and the cap of the exponential backoff (jittered ±25 %). */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Failures that persist this long without progress pause the stream (loudly). */
  giveUpAfterMs: number;
  /** While paused, how often the stream tries again. */
  pausedRetryMs: number;
  /** Abandon everything in flight; the stream will restart from its checkpoint. Must not throw. */
  teardown(err: DrcError): Promise<void>;
  /** Restart from the checkpoint; a throw counts as one more failure (retried). */
  restart(): Promise<void>;
  /** Called once on a fatal error, after teardown; the stream stays stopped. */
  onFatal(err: DrcError): void;
  /** Where the stream stands (e.g. its checkpoint position), added to the errors' own context in logs. */
  context?(): ErrorContext;
}

export class Supervisor {
  /** The stream's state (a live object: read it, do not keep copies). */
  readonly state: StreamState = { status: 'running', failures: 0, failingSince: undefined, lastError: undefined };
  private current: Promise<void> | undefined;
  private stopped = false;
  private giveUp: ReturnType<typeof setTimeout> | undefined;
  /** Armed by a successful restart: no failure for a whole window means the stream recovered. */
  private quiet: ReturnType<typeof setTimeout> | undefined;
  /** The window ended between a restart and the failure that proves the cause persists: pause at that failure. */
  private giveUpDue = false;
  private restartedAt = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly options: SupervisorOptions) {}

  /** A recovery under way (teardown + backoff + restart), if any; stages wait on it. */
  get recovering(): Promise<void> | undefined {
    return this.current;
  }

  /**
   * Report a failure (any thrown value; non-DrcErrors are classified by pipeline/classify.ts).
   * Single-flight: failures reported while a recovery is under way join it.
   */
  fail(err: unknown): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.current ??= this.recover(classifyError(err)).finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  /** The stream made progress (committed something): failures reset, a paused stream runs again. */
  progressed(): void {
    const s = this.state;
    if (this.stopped || (s.status === 'running' && s.failures === 0)) return;
    this.clearGiveUp();
    if (s.status === 'paused') {
      this.options.log.info({ stream: this.options.name, code: s.lastError?.code, failures: s.failures, pausedForMs: Date.now() - (s.failingSince ?? Date.now()) }, 'stream resumed');
    }
    Object.assign(s, { status: 'running', failures: 0, failingSince: undefined });
  }

  /** No more recoveries (shutdown); a recovery under way ends at its next step, a backoff at once. */
  stop(): void {
    this.stopped = true;
    this.clearGiveUp();
    this.state.status = 'stopped';
    this.wake?.();
  }

  private async recover(first: DrcError): Promise<void> {
    for (let err = first; !this.stopped; ) {
      this.note(err);
      await this.options.teardown(err).catch((e: unknown) => this.options.log.warn({ stream: this.options.name, err: e }, 'stream teardown failed'));
      if (err.fatal) return this.fatal(err);
      await this.sleep(this.delayMs());
      if (this.stopped) return;
      try {
        await this.options.restart();
        this.restarted();
        return;
      } catch (e) {
        err = classifyError(e);
      }
    }
  }

  private fatal(err: DrcError): void {
    this.stopped = true;
    this.clearGiveUp();
    this.state.status = 'stopped';
    this.options.log.error(this.fields(err), 'stream stopped: fatal error');
    this.options.onFatal(err);
  }

  /** Count one failure; the first of a run arms the give-up timer. */
  private note(err: DrcError): void {
    const s = this.state;
    const now = Date.now();
    this.clearTimer('quiet');
    s.failures++;
    s.lastError = { code: err.code, message: err.message, at: now, context: { ...this.options.context?.(), ...err.context } };
    if (s.failingSince === undefined) {
      s.failingSince = now;
      this.giveUp = setTimeout(() => this.windowEnded(), this.options.giveUpAfterMs);
      this.giveUp.unref?.();
    }
    if (err.fatal) return;
    if (this.giveUpDue) return this.pause();
    if (s.status === 'paused') {
      this.options.log.debug(this.fields(err), 'paused stream failed again');
      return;
    }
    s.status = 'retrying';
    this.options.log.warn(this.fields(err), 'stream failed; restarting from its checkpoint');
  }

  /** The restart worked; if nothing fails for a whole window, the failure is over. */
  private restarted(): void {
    this.restartedAt = Date.now();
    this.quiet = setTimeout(() => {
      this.quiet = undefined;
      if (!this.current) this.progressed();
    }, this.options.giveUpAfterMs);
    this.quiet.unref?.();
  }

  /** The give-up window since the first failure passed without progress. */
  private windowEnded(): void {
    this.giveUp = undefined;
    const failedSinceRestart = (this.state.lastError?.at ?? 0) >= this.restartedAt;
    if (this.current || failedSinceRestart) this.pause();
    else this.giveUpDue = true;
  }

  /** Failures persist past the window: say so once, loudly, and retry slowly from now on. */
  private pause(): void {
    this.giveUpDue = false;
    const s = this.state;
    if (this.stopped || s.status === 'paused' || s.failingSince === undefined) return;
    s.status = 'paused';
    const last = s.lastError;
    this.options.log.error(
      { stream: this.options.name, code: last?.code, ...last?.context, failures: s.failures, failingForMs: Date.now() - s.failingSince, err: last?.message },
      'stream paused: the same failure persists; retrying slowly until its cause is fixed',
    );
  }

  private fields(err: DrcError): Record<string, unknown> {
    return { stream: this.options.name, code: err.code, ...this.state.lastError?.context, attempt: this.state.failures, err: err.message };
  }

  private delayMs(): number {
    if (this.state.status === 'paused') return this.options.pausedRetryMs;
    return retryDelayMs(this.state.failures, this.options.initialDelayMs, this.options.maxDelayMs);
  }

  /** A backoff that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private clearGiveUp(): void {
    this.clearTimer('giveUp');
    this.clearTimer('quiet');
    this.giveUpDue = false;
  }

  private clearTimer(which: 'giveUp' | 'quiet'): void {
    const timer = this[which];
    if (timer) clearTimeout(timer);
    this[which] = undefined;
  }
}
