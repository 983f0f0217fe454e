/**
 * One supervisor per stream (capture, and each apply origin): retry with jittered backoff, give up
 * loudly when the same failure persists, stop on a fatal error (Vitess controller.go + last_error.go).
 *
 * CONTRACT (issue 11, wave 1): the signatures below are agreed between the apply and the errors
 * helpers; the errors helper refines the implementation, the apply helper codes against it. Do not
 * change a signature without saying so in your report.
 *
 * Decisions are made by the error's class (DrcError.retryable / DrcError.fatal), never by message text:
 * - fatal: `onFatal` is called once and the stream is stopped (fenced, replaced, binlog metadata missing);
 * - otherwise: `teardown`, backoff, `restart`; while failures persist without progress for
 *   `giveUpAfterMs` (deterministic errors) the stream is *paused*: status 'paused', one error-level log
 *   line with the error's code and context (table, position; never row values), and it keeps trying at
 *   `pausedRetryMs` — a paused stream resumes by itself once the cause is fixed (`progressed()`).
 * - retryable (transient) errors never pause before `giveUpAfterMs` either, but they are retried at the
 *   backoff's pace; after the window they are reported paused just the same (an operator must know).
 */
import { classifyError, type DrcError } from '../errors.js';
import type { StreamState } from '../model/stats.js';
import type { Logger } from '../ops/logger.js';
import { backoffMs } from './backoff.js';


export interface SupervisorOptions {
  /** The stream, for logs and health: e.g. `capture`, `apply from b`. */
  name: string;
  log: Logger;
  /** First retry delay and the cap of the exponential backoff (jittered ±25 %). */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A failure that persists this long without progress pauses the stream (loudly). */
  giveUpAfterMs: number;
  /** While paused, how often the stream tries again. */
  pausedRetryMs: number;
  /** Abandon everything in flight; the stream will restart from its checkpoint. Must not throw. */
  teardown(err: DrcError): Promise<void>;
  /** Restart from the checkpoint; a throw counts as one more failure (retried). */
  restart(): Promise<void>;
  /** Called once on a fatal error, after teardown; the stream stays stopped. */
  onFatal(err: DrcError): void;
}

export class Supervisor {
  /** The stream's state (a live object: read it, do not keep copies). */
  readonly state: StreamState = { status: 'running', failures: 0, failingSince: undefined, lastError: undefined };
  private current: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: SupervisorOptions) {}

  /** A recovery under way (teardown + backoff + restart), if any; stages wait on it. */
  get recovering(): Promise<void> | undefined {
    return this.current;
  }

  /**
   * Report a failure (any thrown value; non-DrcErrors are classified by errors.ts classifyError).
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
    if (this.state.status === 'running' && this.state.failures === 0) return;
    if (this.state.status === 'paused') this.options.log.info({ stream: this.options.name }, 'stream resumed');
    Object.assign(this.state, { status: 'running', failures: 0, failingSince: undefined });
  }

  /** No more recoveries (shutdown); a recovery under way ends at its next step. */
  stop(): void {
    this.stopped = true;
  }

  private async recover(first: DrcError): Promise<void> {
    const { log, name } = this.options;
    for (let err = first; !this.stopped; ) {
      this.note(err);
      await this.options.teardown(err);
      if (err.fatal) {
        this.stopped = true;
        this.state.status = 'stopped';
        log.error({ stream: name, code: err.code, ...err.context, err: err.message }, 'stream stopped: fatal error');
        this.options.onFatal(err);
        return;
      }
      await sleep(this.delayMs());
      if (this.stopped) return;
      try {
        await this.options.restart();
        return;
      } catch (e) {
        err = classifyError(e);
      }
    }
  }

  private note(err: DrcError): void {
    const now = Date.now();
    const s = this.state;
    s.failures++;
    s.failingSince ??= now;
    s.lastError = { code: err.code, message: err.message, at: now, context: err.context };
    const fields = { stream: this.options.name, code: err.code, ...err.context, attempt: s.failures, err: err.message };
    if (s.status !== 'paused' && now - s.failingSince >= this.options.giveUpAfterMs) {
      s.status = 'paused';
      this.options.log.error(fields, 'stream paused: the same failure persists; retrying slowly until its cause is fixed');
    } else if (s.status !== 'paused') {
      s.status = 'retrying';
      this.options.log.warn(fields, 'stream failed; restarting from its checkpoint');
    }
  }

  private delayMs(): number {
    if (this.state.status === 'paused') return this.options.pausedRetryMs;
    return backoffMs(this.state.failures, this.options.initialDelayMs, 20, this.options.maxDelayMs);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
