#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { UnexpectedError } from '../errors.js';
import { classifyError } from '../pipeline/classify.js';
import { ExitCode, exitCodeOf } from './exit-codes.js';
import { registerBootstrap } from './commands/bootstrap.js';
import { registerConfig } from './commands/config.js';
import { registerDemo } from './commands/demo.js';
import { registerOps } from './commands/ops.js';
import { registerQuarantine } from './commands/quarantine.js';
import { registerRouting } from './commands/routing.js';
import { registerRun } from './commands/run.js';
import { registerSandbox } from './commands/sandbox.js';
import { registerTriggers } from './commands/triggers.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('drc')
    .description('bidirectional MySQL/MariaDB change replication for active-active ezones')
    .version(pkg.version)
    .showHelpAfterError('(run drc --help for usage)')
    .exitOverride();
  registerSandbox(program);
  registerRun(program);
  registerOps(program);
  registerQuarantine(program);
  registerTriggers(program);
  registerRouting(program);
  registerBootstrap(program);
  registerConfig(program);
  registerDemo(program);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/** Run the CLI; resolves to the process exit code (DESIGN.md section 9: 0 ok, 1 check failed, 2 usage/config). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with code 0; every other commander error is bad usage.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    // Driver errors become the catalogue's errors here too: their messages are redacted (no row values).
    const e = classifyError(err);
    if (e instanceof UnexpectedError) {
      const stack = err instanceof Error ? err.stack?.slice(Math.max(0, err.stack.indexOf('\n    at '))) : undefined;
      process.stderr.write(`drc: unexpected error: ${e.message}${stack ?? ''}\n`);
    } else {
      process.stderr.write(`drc: ${e.message}\n`);
    }
    return exitCodeOf(e);
  }
}

process.exitCode = await main(process.argv);
// Client libraries may keep sockets or timers alive after a command is done: never hang on them.
setTimeout(() => process.exit(), 2000).unref();
