import { describe, expect, it } from 'vitest';
import { marker, position } from './meta.js';

describe('meta statements', () => {
  it('writes upserts per flavour (MariaDB VALUES(), MySQL row alias)', () => {
    expect(marker('mariadb', 3, 'b', 'tx', 'pos').sql).toContain('ON DUPLICATE KEY UPDATE origin = VALUES(origin)');
    expect(marker('mysql', 3, 'b', 'tx', 'pos').sql).toContain(' AS new ON DUPLICATE KEY UPDATE origin = new.origin');
    expect(marker('mariadb', 3, 'b', 'tx', 'pos').sql).toContain('n = n + 1');
    expect(position('mysql', 'b', 0, '42', 'tx', 'pos').params).toEqual(['b', 0, '42', 'tx', 'pos', null]);
    expect(position('mysql', 'b', 0, '42', 'tx', 'pos', 'drc.b.changes').params).toEqual(['b', 0, '42', 'tx', 'pos', 'drc.b.changes']);
  });
});
