/**
 * guard: what `drc guard install`'s triggers cost on write throughput — single-row autocommit inserts
 * into a hash-sharded table of ezone a by four connections, without and with the triggers, in rounds
 * of alternating order (bench/harness/guard-load.ts). No daemon runs meanwhile.
 */
import { loadConfig } from '../../src/config/loader.js';
import { sandboxConnectionOptions } from '../../src/sandbox/admin-account.js';
import { measureGuardCost, type GuardCost } from '../harness/guard-load.js';
import { say, type BenchOptions } from '../harness/options.js';
import type { BenchSandbox } from '../harness/sandbox.js';

export async function runGuardCost(s: BenchSandbox, options: BenchOptions): Promise<GuardCost> {
  say(`guard: inserts by 4 connections, ${options.sizes.guardRounds} rounds of ${options.sizes.guardSeconds} s without and with the triggers`);
  const a = s.info.ezones[0]!.mysql;
  return measureGuardCost({
    config: loadConfig(s.info.config),
    ezone: s.info.ezones[0]!.name,
    account: { user: a.user, password: a.password },
    connection: sandboxConnectionOptions(a),
    writers: 4,
    seconds: options.sizes.guardSeconds,
    rounds: options.sizes.guardRounds,
    say,
  });
}
