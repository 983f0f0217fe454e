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

export class DrcError extends Error {
  /** Stable, machine-readable code, e.g. `DRC_CONFIG_INVALID`. */
  readonly code: string;
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: number;

  constructor(code: string, message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.checkFailed;
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
