import { describe, expect, it } from 'vitest';
import { parseGrant, privilegeFindings } from './privileges.js';

const SANDBOX = [
  "GRANT SELECT, INSERT, UPDATE, DELETE, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `drc`@`%` IDENTIFIED BY PASSWORD '*3F1A' REQUIRE X509",
  'GRANT ALL PRIVILEGES ON `drc_meta`.* TO `drc`@`%`',
];

describe('least privilege', () => {
  it("accepts exactly the README's list (MariaDB and MySQL spellings, per-schema DML, TRIGGER for doctor)", () => {
    expect(privilegeFindings(SANDBOX)).toEqual({ missing: [], excess: [] });
    expect(
      privilegeFindings([
        'GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `drc`@`%`',
        'GRANT SELECT, INSERT, UPDATE, DELETE, TRIGGER ON `app`.* TO `drc`@`%`',
        'GRANT ALL PRIVILEGES ON `drc_meta`.* TO `drc`@`%`',
      ]),
    ).toEqual({ missing: [], excess: [] });
  });

  it('names SUPER, ALL on *.*, GRANT OPTION and DDL on application schemas as excess', () => {
    expect(privilegeFindings([SANDBOX[0]!.replace('BINLOG MONITOR', 'BINLOG MONITOR, SUPER'), SANDBOX[1]!]).excess).toEqual(['SUPER on *.*']);
    expect(privilegeFindings(['GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION']).excess).toEqual(['GRANT OPTION on *.*', 'ALL PRIVILEGES on *.*']);
    expect(privilegeFindings([...SANDBOX, 'GRANT DROP, ALTER ON `app`.* TO `drc`@`%`']).excess).toEqual(['DROP on `app`.*', 'ALTER on `app`.*']);
  });

  it('names what is missing', () => {
    expect(privilegeFindings(['GRANT SELECT ON *.* TO `drc`@`%`']).missing).toEqual([
      'REPLICATION SLAVE on *.*',
      'REPLICATION CLIENT (MariaDB: BINLOG MONITOR) on *.*',
      'SELECT, INSERT, UPDATE, DELETE on the replicated schemas',
      'ALL on drc_meta.*',
    ]);
  });

  it('parses column lists and skips role grants', () => {
    expect(parseGrant('GRANT SELECT (a, b), INSERT ON `s`.`t` TO `u`@`%`')).toEqual({ privileges: ['SELECT', 'INSERT'], object: '`s`.`t`', grantOption: false });
    expect(parseGrant('GRANT `app_role` TO `drc`@`%`')).toBeUndefined();
  });
});
