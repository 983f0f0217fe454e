/**
 * Issue 13, `drc doctor` on schemas that weaken last-writer-wins: nullable and whole-second version
 * columns, a DATETIME version column without ON UPDATE, keys under a case-insensitive collation —
 * warnings naming each column, read from the real server; a table done right is named by none.
 */
import { afterEach, expect, it } from 'vitest';
import { runDrc } from '../support/cli.js';
import { describeWithServers } from '../support/env.js';
import { scenario, type Scenario } from '../support/scenario.js';

interface DoctorCheck {
  ezone: string;
  check: string;
  ok: boolean;
  warning?: boolean;
  message: string;
}

describeWithServers('drc doctor: version columns and key collations (issue 13)', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('warns, naming the columns, about weak version columns and case-insensitive keys; passes a table done right', async () => {
    s = await scenario('doctor_schema', {}, { ezones: ['a', 'b'] });
    for (const ez of ['a', 'b']) {
      await s.db[ez]!.query(`CREATE TABLE good (id VARBINARY(16) PRIMARY KEY, code VARCHAR(10) COLLATE utf8mb4_bin UNIQUE, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))`);
      await s.db[ez]!.query('CREATE TABLE secs (id INT PRIMARY KEY, updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)');
      await s.db[ez]!.query('CREATE TABLE manual (id INT PRIMARY KEY, updated_at DATETIME(6) NULL)');
      await s.db[ez]!.query('CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(40) COLLATE utf8mb4_general_ci NOT NULL UNIQUE, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))');
      // Foreign keys: a versioned chain (fine at its first level, a cascade victim at its second), a parent without a version column.
      const v = 'updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)';
      await s.db[ez]!.query(`CREATE TABLE g (id INT PRIMARY KEY, ${v})`);
      await s.db[ez]!.query(`CREATE TABLE p (id INT PRIMARY KEY, gid INT, ${v}, CONSTRAINT fk_p_g FOREIGN KEY (gid) REFERENCES g (id) ON DELETE CASCADE)`);
      await s.db[ez]!.query(`CREATE TABLE c (id INT PRIMARY KEY, pid INT, ${v}, CONSTRAINT fk_c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)`);
      await s.db[ez]!.query('CREATE TABLE loose (id INT PRIMARY KEY)');
      await s.db[ez]!.query(`CREATE TABLE tied (id INT PRIMARY KEY, lid INT, ${v}, CONSTRAINT fk_tied_loose FOREIGN KEY (lid) REFERENCES loose (id))`);
    }
    const r = await runDrc(['doctor', '--config', s.configFile, '--json']);
    const doc = JSON.parse(r.stdout) as { ok: boolean; checks: DoctorCheck[] };
    expect(r.code).toBe(0); // warnings only
    expect(doc.ok).toBe(true);
    const of = (ezone: string, check: string) => doc.checks.find((c) => c.ezone === ezone && c.check === check)!;
    for (const ez of ['a', 'b']) {
      const types = of(ez, 'version_column_types');
      expect(types).toMatchObject({ ok: true, warning: true });
      expect(types.message).toContain(`: ${s.schema}.manual.updated_at, ${s.schema}.secs.updated_at — make them NOT NULL DATETIME(6)`);
      const updates = of(ez, 'version_column_updates');
      expect(updates).toMatchObject({ ok: true, warning: true });
      expect(updates.message).toContain(`: ${s.schema}.manual.updated_at — add ON UPDATE`);
      const keys = of(ez, 'key_collations');
      expect(keys).toMatchObject({ ok: true, warning: true });
      expect(keys.message).toContain(`: ${s.schema}.users.email — use a _bin collation`);
      for (const c of [types, updates, keys]) expect(c.message).not.toContain('.good.');
      const fks = of(ez, 'foreign_keys');
      expect(fks).toMatchObject({ ok: true, warning: true });
      expect(fks.message).toContain(`${s.schema}.c (fk_c_p) → ${s.schema}.p: parent rows vanish in a cascade of their own parent`);
      expect(fks.message).toContain(`${s.schema}.tied (fk_tied_loose) → ${s.schema}.loose: parent has no version column`);
      expect(fks.message).not.toContain('fk_p_g');
    }
    const human = await runDrc(['doctor', '--config', s.configFile]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^a\s+key_collations\s+warn\s+/m);
  }, 60_000);
});
