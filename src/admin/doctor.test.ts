import { describe, expect, it } from 'vitest';
import { crossChecks, type ServerFacts } from './doctor.js';

const facts = (ezone: string, serverId: number, offset: number): ServerFacts => ({ ezone, serverId, domainId: serverId, increment: 2, offset });

describe('doctor cross checks', () => {
  it('pass with distinct ids and offsets from every ezone', () => {
    const checks = crossChecks([facts('a', 1, 1), facts('b', 2, 2)], ['a', 'b']);
    expect(checks.map((c) => [c.check, c.ok])).toEqual([
      ['server_ids', true],
      ['gtid_domains', true],
      ['auto_increment', true],
    ]);
  });

  it('fail, saying why, when an ezone gave no data (never "ok" over an empty list)', () => {
    for (const got of [[], [facts('a', 1, 1)]]) {
      const checks = crossChecks(got, ['a', 'b']);
      expect(checks.map((c) => c.check)).toEqual(['server_ids', 'gtid_domains', 'auto_increment']);
      for (const c of checks) {
        expect(c.ok).toBe(false);
        expect(c.message).toMatch(/^not checked: no data from .*ezone b/);
      }
    }
  });

  it('fail on a duplicated server_id', () => {
    const checks = crossChecks([facts('a', 1, 1), facts('b', 1, 2)], ['a', 'b']);
    expect(checks.find((c) => c.check === 'server_ids')).toMatchObject({ ok: false, message: expect.stringMatching(/server_id 1 used by more than one ezone/) });
  });
});
