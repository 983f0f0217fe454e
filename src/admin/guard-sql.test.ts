import { describe, expect, it } from 'vitest';
import { guardStateOf } from './trigger-guard.js';
import { createGuardSql, guardBody, guardTriggerName } from './guard-sql.js';

const target = { schema: 'shop', table: 'orders', column: 'user_id', shardCount: 1024, ezone: 'east', topology: 'drc' };

describe('guard triggers', () => {
  it('names triggers within 64 characters, distinct per event', () => {
    expect(guardTriggerName('orders', 'INSERT')).toBe('drc_guard_i_orders');
    const long = guardTriggerName('x'.repeat(64), 'UPDATE');
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).not.toBe(guardTriggerName(`${'x'.repeat(63)}y`, 'UPDATE'));
  });

  it("skips DRC's applier in the form doctor counts as guarded", () => {
    expect(guardStateOf(guardBody(target, 'INSERT'))).toBe('guarded');
  });

  it('checks the images each event writes, with a locking read of the topology’s routing row', () => {
    const insert = guardBody(target, 'INSERT');
    expect(insert).toContain('NEW.`user_id`');
    expect(insert).not.toContain('OLD.');
    const update = guardBody(target, 'UPDATE');
    expect(update).toContain('NEW.`user_id`');
    expect(update).toContain('OLD.`user_id`');
    expect(guardBody(target, 'DELETE')).not.toContain('NEW.');
    expect(insert).toContain("WHERE topology = 'drc' AND shard = drc_shard LOCK IN SHARE MODE");
    expect(insert).toContain('% 1024');
    expect(createGuardSql(target, 'DELETE')).toMatch(/^CREATE TRIGGER `shop`\.`drc_guard_d_orders` BEFORE DELETE ON `shop`\.`orders` FOR EACH ROW IF @drc_applier IS NULL THEN/);
  });
});
