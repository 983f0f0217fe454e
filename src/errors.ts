/**
 * One error hierarchy with stable codes. Callers decide by `code`, never by message text.
 * Messages carry context (key, table, position) but never passwords or row values.
 */

/** Process exit codes of the `drc` CLI (DESIGN.md section 9). */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
} as const;

/** Where a failure happened: attached to errors and logged with them (never row values or passwords). */
export interface ErrorContext {
  table?: string;
  position?: string;
  origin?: string;
  offset?: string;
  [key: string]: string | number | undefined;
}

export interface DrcErrorOptions {
  cause?: unknown;
  exitCode?: number;
  /** Worth retrying as is (a transient failure: connection lost, deadlock, broker unavailable). */
  retryable?: boolean;
  /** Retrying cannot help and the stream must stop (fenced, replaced, server misconfigured). */
  fatal?: boolean;
  context?: ErrorContext;
}

export class DrcError extends Error {
  /** Stable, machine-readable code, e.g. `DRC_CONFIG_INVALID`. */
  readonly code: string;
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: number;
  /** Transient: the same work may succeed when retried. */
  readonly retryable: boolean;
  /** The stream cannot go on (the supervisor stops it instead of retrying). */
  readonly fatal: boolean;
  readonly context: ErrorContext;

  constructor(code: string, message: string, options: DrcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.checkFailed;
    this.retryable = options.retryable ?? false;
    this.fatal = options.fatal ?? false;
    this.context = options.context ?? {};
  }
}

/**
 * Any thrown value as a DrcError (the supervisor decides on DrcErrors only). STUB for wave 1: the
 * errors helper maps driver errors (MySQL errno, Kafka) to classes in one module and redacts messages.
 */
export function classifyError(err: unknown): DrcError {
  if (err instanceof DrcError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DrcError('DRC_UNEXPECTED', message, { cause: err, retryable: true });
}

/** The target database does not (yet) match the incoming change: the stream pauses until it does. */
export class SchemaMismatchError extends DrcError {
  constructor(message: string, context: ErrorContext = {}) {
    super('DRC_SCHEMA_MISMATCH', message, { context });
  }
}

/** Worth trying again in place (deadlock, a row that appeared concurrently). */
export class RetryableApplyError extends DrcError {
  constructor(message: string, cause?: unknown) {
    super('DRC_APPLY_RETRY', message, { cause, retryable: true });
  }
}

/** The config file is missing, unparsable or does not match the schema. */
export class ConfigError extends DrcError {
  /** One entry per problem: the dotted key path and what to do about it. */
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[], options: { cause?: unknown } = {}) {
    const lines = problems.map((p) => `  - ${p.path || '(top level)'}: ${p.message}`);
    super('DRC_CONFIG_INVALID', `invalid config ${file}:\n${lines.join('\n')}`, {
      ...options,
      exitCode: ExitCode.usage,
    });
    this.problems = problems;
  }
}

export interface ConfigProblem {
  /** Dotted key path, e.g. `ezones.a.mysql.port`. */
  path: string;
  /** What is wrong and how to fix it, in one line. */
  message: string;
}

/** Bad command-line usage (unknown ezone, conflicting flags). */
export class UsageError extends DrcError {
  constructor(message: string) {
    super('DRC_USAGE', message, { exitCode: ExitCode.usage });
  }
}

/** A check the user asked for found problems (already reported on stdout): exit 1. */
export class CheckFailedError extends DrcError {
  constructor(message: string) {
    super('DRC_CHECK_FAILED', message, { exitCode: ExitCode.checkFailed });
  }
}

/** A prerequisite (MariaDB server, Java, Maven) is missing and cannot be installed here. */
export class PrerequisiteError extends DrcError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('DRC_PREREQUISITE_MISSING', message, options);
  }
}

/** A local sandbox server failed to start or stop. */
export class SandboxError extends DrcError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('DRC_SANDBOX_FAILED', message, options);
  }
}
