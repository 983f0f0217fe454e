import { describe, expect, it } from 'vitest';
import { copyOrder } from './bootstrap-order.js';

describe('copyOrder', () => {
  it('puts parents before children, whatever order the tables come in, and keeps unrelated tables in order', () => {
    const edges = [
      { child: 'item', parent: 'order' },
      { child: 'order', parent: 'customer' },
      { child: 'item', parent: 'product' },
    ];
    const { order, cyclic } = copyOrder(['item', 'loose', 'order', 'product', 'customer'], edges);
    expect(order.indexOf('customer')).toBeLessThan(order.indexOf('order'));
    expect(order.indexOf('order')).toBeLessThan(order.indexOf('item'));
    expect(order.indexOf('product')).toBeLessThan(order.indexOf('item'));
    expect(order.sort()).toEqual(['customer', 'item', 'loose', 'order', 'product']);
    expect(cyclic.size).toBe(0);
    expect(copyOrder(['a', 'b', 'c'], []).order).toEqual(['a', 'b', 'c']);
  });

  it('marks a self-reference and a ring as cyclic, the ring after its outside parent and before its child', () => {
    const edges = [
      { child: 'tree', parent: 'tree' },
      { child: 'store', parent: 'staff' },
      { child: 'staff', parent: 'store' },
      { child: 'staff', parent: 'address' },
      { child: 'payment', parent: 'staff' },
    ];
    const { order, cyclic } = copyOrder(['payment', 'tree', 'staff', 'store', 'address'], edges);
    expect([...cyclic].sort()).toEqual(['staff', 'store', 'tree']);
    expect(order.indexOf('address')).toBeLessThan(Math.min(order.indexOf('staff'), order.indexOf('store')));
    expect(Math.max(order.indexOf('staff'), order.indexOf('store'))).toBeLessThan(order.indexOf('payment'));
    expect(Math.abs(order.indexOf('staff') - order.indexOf('store'))).toBe(1);
  });

  it('ignores a parent outside the copied set (it is already in the target)', () => {
    expect(copyOrder(['child'], [{ child: 'child', parent: 'elsewhere' }])).toEqual({ order: ['child'], cyclic: new Set() });
  });
});
