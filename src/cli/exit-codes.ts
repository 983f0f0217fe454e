/**
 * Which exit code ends a command, decided in one place from the error's class (DESIGN.md section 9:
 * 0 ok, 1 check failed / differences found, 2 bad usage or config, 3 a server could not be reached). Domain errors know nothing of
 * processes; only the CLI does.
 */
import { ConfigError, UnreachableError, UsageError } from '../errors.js';

/** Process exit codes of the `drc` CLI. */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  unreachable: 3,
} as const;

/** The exit code for an error that ended a command: bad usage or config → 2, unreachable → 3, anything else → 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ConfigError || err instanceof UsageError) return ExitCode.usage;
  if (err instanceof UnreachableError) return ExitCode.unreachable;
  return ExitCode.checkFailed;
}
