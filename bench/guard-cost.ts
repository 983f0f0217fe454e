/**
 * The write guard's cost (`drc guard install`, issue 17) against servers of your own
 * (bench/harness/guard-load.ts; `npm run bench` measures it in its own sandbox, phase `guard`):
 *
 *   npx tsc -p bench/tsconfig.json && ADMIN_PW=… node dist-bench/bench/guard-cost.js \
 *     --config drc.yaml --user root --password-env ADMIN_PW [--ezone a] [--writers 4] [--seconds 10] [--rounds 2]
 *
 * Prints one JSON document: inserts per second without and with the guard, and the ratio.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/loader.js';
import { connectionOptions } from '../src/db/connect.js';
import { countArg, ezoneArg, measureGuardCost } from './harness/guard-load.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    ezone: { type: 'string' },
    user: { type: 'string' },
    'password-env': { type: 'string' },
    writers: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
  },
});
if (!values.config || !values.user || !values['password-env']) throw new Error('usage: --config F --user U --password-env VAR [--ezone A] [--writers N] [--seconds S] [--rounds R]');
const account = { user: values.user, password: process.env[values['password-env']] ?? '' };
const config = loadConfig(values.config);
const ezone = values.ezone ?? Object.keys(config.ezones)[0]!;
const cost = await measureGuardCost({
  config,
  ezone,
  account,
  connection: { ...connectionOptions(ezoneArg(config, ezone).mysql), ...account },
  writers: countArg('writers', values.writers),
  seconds: countArg('seconds', values.seconds),
  rounds: countArg('rounds', values.rounds),
  say: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${JSON.stringify({ ezone, ...cost }, null, 2)}\n`);
