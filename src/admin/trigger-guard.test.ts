import { describe, expect, it } from 'vitest';
import { createTriggerSql, definerSql, guardedBody, guardStateOf, placementSql, planGuard, type TriggerDefinition } from './trigger-guard.js';

const trigger = (over: Partial<TriggerDefinition> = {}): TriggerDefinition => ({
  schema: 'app',
  name: 'stamp',
  table: 'orders',
  timing: 'BEFORE',
  event: 'INSERT',
  order: 1,
  body: 'SET NEW.created = NOW(6)',
  definer: 'app@%',
  sqlMode: 'PIPES_AS_CONCAT',
  characterSetClient: 'utf8mb4',
  collationConnection: 'utf8mb4_general_ci',
  ...over,
});

const compound = `main: BEGIN
  DECLARE n INT DEFAULT 0;
  DECLARE msg VARCHAR(20) DEFAULT 'é; END IF';
  IF NEW.kind = 'skip' THEN LEAVE main; END IF;
  SET NEW.note = msg; -- ends with a comment`;

describe('trigger guard body rewrite', () => {
  it('wraps a single statement and a labelled compound body unchanged inside one IF on the applier mark', () => {
    expect(guardedBody('SET NEW.created = NOW(6)')).toBe('IF @drc_applier IS NULL THEN\nSET NEW.created = NOW(6)\n; END IF');
    const body = `${compound}\nEND main`;
    const guarded = guardedBody(body);
    expect(guarded.startsWith('IF @drc_applier IS NULL THEN\n')).toBe(true);
    expect(guarded).toContain(`\n${body}\n`);
    expect(guarded.endsWith('\n; END IF')).toBe(true);
  });

  it('ends a trailing -- or # comment of the body before the closing END IF', () => {
    for (const body of ['SET NEW.a = 1 -- set a', 'SET NEW.a = 1 # set a']) {
      const lines = guardedBody(body).split('\n');
      expect(lines.at(-2)).toBe(body);
      expect(lines.at(-1)).toBe('; END IF');
    }
  });

  it('recognises its own form (idempotent), a hand-written guard, an unguarded and a hidden body', () => {
    const body = 'SET NEW.a = 1';
    expect(guardStateOf(body)).toBe('unguarded');
    expect(guardStateOf(guardedBody(body))).toBe('guarded');
    expect(guardStateOf(guardedBody(guardedBody(body)))).toBe('guarded');
    expect(guardStateOf('IF @DRC_APPLIER IS NOT NULL THEN LEAVE x; END IF')).toBe('custom');
    // A body that merely starts like a guard is not taken for one.
    expect(guardStateOf('IF @drc_applier IS NULL THEN\nSET NEW.a = 1; END IF; ')).toBe('custom');
    expect(guardStateOf(null)).toBe('unreadable');
  });
});

describe('trigger guard plan', () => {
  it('MariaDB: one CREATE OR REPLACE keeping definer, timing, event and the trigger session settings', () => {
    const plan = planGuard(trigger(), [trigger()], 'mariadb');
    expect(plan).toMatchObject({ action: 'guard', session: { sqlMode: 'PIPES_AS_CONCAT', characterSetClient: 'utf8mb4', collationConnection: 'utf8mb4_general_ci' } });
    if (plan.action !== 'guard') throw new Error('no plan');
    expect(plan.statements).toEqual([
      'CREATE OR REPLACE DEFINER=`app`@`%` TRIGGER `app`.`stamp` BEFORE INSERT ON `app`.`orders` FOR EACH ROW IF @drc_applier IS NULL THEN\nSET NEW.created = NOW(6)\n; END IF',
    ]);
    expect(plan.restore).toEqual([]);
  });

  it('MySQL: drop and create under LOCK TABLES WRITE, with the original to restore', () => {
    const plan = planGuard(trigger(), [trigger()], 'mysql');
    if (plan.action !== 'guard') throw new Error('no plan');
    expect(plan.statements[0]).toBe('LOCK TABLES `app`.`orders` WRITE');
    expect(plan.statements[1]).toBe('DROP TRIGGER `app`.`stamp`');
    expect(plan.statements[2]).toMatch(/^CREATE DEFINER=`app`@`%` TRIGGER `app`.`stamp` BEFORE INSERT ON `app`.`orders` FOR EACH ROW IF @drc_applier IS NULL THEN\n/);
    expect(plan.statements[3]).toBe('UNLOCK TABLES');
    expect(plan.restore[0]).toBe('CREATE DEFINER=`app`@`%` TRIGGER `app`.`stamp` BEFORE INSERT ON `app`.`orders` FOR EACH ROW SET NEW.created = NOW(6)');
  });

  it('puts the trigger back at its place among several of the same timing and event', () => {
    const [x, y, z] = [trigger({ name: 'x', order: 1 }), trigger({ name: 'y', order: 2 }), trigger({ name: 'z`q', order: 3 })];
    expect(placementSql(x, [x, y, z])).toBe(' PRECEDES `y`');
    expect(placementSql(y, [x, y, z])).toBe(' FOLLOWS `x`');
    expect(placementSql(z, [x, y, z])).toBe(' FOLLOWS `y`');
    expect(placementSql(x, [x])).toBe('');
    expect(createTriggerSql({ ...z, definer: 'a@b' }, 'BODY', placementSql(z, [x, y, z]), true)).toBe('CREATE OR REPLACE DEFINER=`a`@`b` TRIGGER `app`.`z``q` BEFORE INSERT ON `app`.`orders` FOR EACH ROW FOLLOWS `y` BODY');
  });

  it('quotes a definer whose user name holds @ or a backtick', () => {
    expect(definerSql('we@ird`u@localhost')).toBe('`we@ird``u`@`localhost`');
    expect(definerSql('root@')).toBe('`root`@``');
  });

  it('leaves a guarded trigger alone and skips, saying why, what it cannot rewrite faithfully', () => {
    expect(planGuard(trigger({ body: guardedBody('SET NEW.a = 1') }), [], 'mariadb')).toEqual({ action: 'already-guarded' });
    expect(planGuard(trigger({ body: 'IF @drc_applier IS NULL THEN SET NEW.a = 1; END IF' }), [], 'mariadb')).toMatchObject({ action: 'skip', custom: true });
    expect(planGuard(trigger({ body: null, definer: null }), [], 'mariadb')).toMatchObject({ action: 'skip', custom: false, reason: expect.stringMatching(/TRIGGER privilege/) });
    expect(planGuard(trigger({ characterSetClient: 'latin1', body: "SET NEW.a = 'é'" }), [], 'mariadb')).toMatchObject({ action: 'skip', custom: false, reason: expect.stringMatching(/non-ASCII.*latin1/) });
    // ASCII under latin1 reads the same: guarded.
    expect(planGuard(trigger({ characterSetClient: 'latin1', collationConnection: 'latin1_swedish_ci' }), [], 'mariadb').action).toBe('guard');
    expect(planGuard(trigger({ characterSetClient: 'utf8mb4; DROP' }), [], 'mariadb')).toMatchObject({ action: 'skip' });
  });
});
