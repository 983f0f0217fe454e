import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import type { Scenario } from './scenario.js';

/**
 * The scenario with `patch(config)` applied to its config, re-validated and written back to its file
 * (for settings that name the scenario's own schema, such as `replicate` or per-table `tables`
 * entries, which `scenario(…, overrides)` cannot know in advance). Daemons started afterwards, and
 * the CLI, see the new config.
 */
export function reconfigure(s: Scenario, patch: (config: Record<string, unknown>) => Record<string, unknown>): Scenario {
  const config = configSchema.parse(patch(structuredClone(s.config) as unknown as Record<string, unknown>));
  writeFileSync(s.configFile, stringify(config));
  s.config = config;
  return s;
}
