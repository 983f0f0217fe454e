import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/ops/logger.js';
import { DAEMON_LOG_DIR, startInfra, type TestInfra } from './infra.js';

declare module 'vitest' {
  export interface ProvidedContext {
    infra: TestInfra;
  }
}

/** Start the servers once for the whole integration run; stop them at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = createLogger('warn');
  rmSync(DAEMON_LOG_DIR, { recursive: true, force: true }); // only this run's
  const started = Date.now();
  const { infra, stop } = await startInfra(log);
  if (infra.skipped) process.stderr.write(`\nintegration suites ${infra.skipped}\n\n`);
  else process.stderr.write(`\ntest servers (${infra.mode}) ready in ${Date.now() - started} ms: config ${infra.config}\n\n`);
  project.provide('infra', infra);
  return stop;
}
