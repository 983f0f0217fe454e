import { describe, expect, it } from 'vitest';
import { binlogRetentionCheck, captureStartVerdict, crossChecks, triggersCheck, type ServerFacts } from './doctor.js';
import { guardedBody, type TriggerDefinition } from './trigger-guard.js';

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

describe('doctor triggers check', () => {
  const t = (name: string, body: string | null): TriggerDefinition => ({
    schema: 'app', name, table: 'orders', timing: 'AFTER', event: 'INSERT', order: 1, body, definer: body === null ? null : 'app@%',
    sqlMode: '', characterSetClient: 'utf8mb4', collationConnection: 'utf8mb4_general_ci',
  });

  it('passes with no triggers or only guarded ones', () => {
    expect(triggersCheck('a', 'drc@%', [])).toMatchObject({ ok: true, message: 'no triggers on replicated tables' });
    expect(triggersCheck('a', 'drc@%', [t('x', guardedBody('SET @n = 1'))])).toMatchObject({ ok: true, message: expect.stringMatching(/all 1 trigger/) });
  });

  it('fails naming every unguarded trigger, with the command that fixes it', () => {
    const c = triggersCheck('a', 'drc@%', [t('x', 'INSERT INTO audit VALUES (NEW.id)'), t('y', guardedBody('SET @n = 1')), t('z', 'SET @n = 2')]);
    expect(c.ok).toBe(false);
    expect(c.message).toMatch(/2 trigger\(s\).*app\.x \(AFTER INSERT on app\.orders\), app\.z .*drc triggers guard --config <file> --ezone a/);
    expect(c.message).not.toMatch(/app\.y/);
  });

  it('fails when the body is hidden from DRC, with the grant that lets doctor read it', () => {
    const c = triggersCheck('b', 'drc@%', [t('x', null)]);
    expect(c).toMatchObject({ ok: false, message: expect.stringMatching(/cannot tell whether 1 trigger.*GRANT TRIGGER ON `app`\.\* TO `drc`@`%`/) });
  });

  it('fails for schemas whose triggers the server does not list to DRC (MySQL without TRIGGER)', () => {
    const c = triggersCheck('a', 'drc@%', [], ['app', 'shop']);
    expect(c).toMatchObject({ ok: false, message: expect.stringMatching(/cannot see the triggers of replicated schemas app, shop: .*GRANT TRIGGER ON `app`\.\* TO `drc`@`%`; GRANT TRIGGER ON `shop`/) });
  });

  it('warns about a hand-written guard', () => {
    expect(triggersCheck('a', 'drc@%', [t('x', 'IF @drc_applier IS NULL THEN SET @n = 1; END IF')])).toMatchObject({ ok: true, warning: true });
  });
});

describe('doctor binlog retention and capture start checks', () => {
  it('warns of a retention shorter than a day, not of a longer one or of none', () => {
    expect(binlogRetentionCheck('a', 3600)).toMatchObject({ ok: true, warning: true, message: expect.stringContaining('purged after 1 h') });
    expect(binlogRetentionCheck('a', 7 * 86_400)).toEqual({ ezone: 'a', check: 'binlog_retention', ok: true, message: 'binlogs are kept 168 h' });
    expect(binlogRetentionCheck('a', 0).warning).toBeUndefined();
  });

  it('warns of a first start recorded more than 10 minutes ago (capture has not committed since)', () => {
    expect(captureStartVerdict('a', 't.a.changes', undefined)).toMatchObject({ ok: true, message: expect.stringContaining('no first start waiting') });
    expect(captureStartVerdict('a', 't.a.changes', { recordedAt: '2026-12-02 10:00:00', ageSeconds: 120 }).warning).toBeUndefined();
    const old = captureStartVerdict('a', 't.a.changes', { recordedAt: '2026-12-02 10:00:00', ageSeconds: 3600 });
    expect(old).toMatchObject({ ok: true, warning: true, check: 'capture_start' });
    expect(old.message).toContain('60 min ago');
  });
});
