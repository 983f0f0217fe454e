/**
 * Setup file of the integration project: each test starts with an empty in-process log, and only a
 * failing test prints it (see test-logger.ts).
 */
import { beforeEach } from 'vitest';
import { clearTestLog, takeTestLog } from './test-logger.js';
// The tests' own kafkajs clients get DRC's kafkajs patches too (no TimeoutNegativeWarning in the output).
import '../../src/transport/kafka/kafkajs-patches.js';

beforeEach(({ onTestFailed }) => {
  clearTestLog();
  onTestFailed(() => {
    const text = takeTestLog();
    if (text) process.stderr.write(`\n--- in-process DRC log of the failed test ---\n${text}\n`);
  });
});
