import { describe, expect, it } from 'vitest';
// eslint-disable-next-line no-restricted-imports -- asserts the CLI's exit code for a config error
import { exitCodeOf } from '../cli/exit-codes.js';
import { ConfigError } from '../errors.js';
import { parseConfig } from './loader.js';
import { parseDuration } from './schema.js';

const minimal = `
kafka:
  brokers: [127.0.0.1:9092]
ezones:
  a:
    mysql: { host: db-a, password: secret-a }
    serverId: 101
  b:
    mysql: { host: db-b, port: 3307 }
    serverId: 102
`;

/** The problems of a config that must fail, as "path: message" lines. */
function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, 'test.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(exitCodeOf(err)).toBe(2);
    expect((err as ConfigError).code).toBe('DRC_CONFIG_INVALID');
    return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('expected the config to be rejected');
}

describe('config defaults', () => {
  it('fills every default of a minimal config', () => {
    const cfg = parseConfig(minimal, 'test.yaml', {});
    expect(cfg.kafka).toMatchObject({ topicPrefix: 'drc', clientId: 'drc', ssl: false, maxMessageBytes: 900_000, notifyPartitions: 3 });
    expect(cfg.ezones.a?.mysql).toEqual({ host: 'db-a', port: 3306, user: 'drc', password: 'secret-a', flavor: 'auto', connectTimeoutMs: 10_000, tls: { mode: 'disabled' } });
    expect(cfg.ezones.b?.mysql.port).toBe(3307);
    expect(cfg.replicate).toEqual({ include: ['*.*'], exclude: [], versionColumn: 'updated_at' });
    expect(cfg.ownership).toEqual({ policy: 'report', shardCount: 1024, routing: [], tables: {}, global: {} });
    expect(cfg.apply.tombstoneRetention).toBe(24 * 3_600_000);
    expect(cfg.apply.onUnknownColumn).toBe('pause');
    expect(cfg.heartbeat.interval).toBe(1000);
    expect(cfg.health).toEqual({ maxLag: 10_000, stuckAfter: 60_000 });
    expect(cfg.log.level).toBe('info');
  });

  it('parses durations written with units', () => {
    const cfg = parseConfig(`${minimal}apply: { tombstoneRetention: 7d }\nhealth: { maxLag: 500ms, stuckAfter: 2m }\n`, 't', {});
    expect(cfg.apply.tombstoneRetention).toBe(7 * 86_400_000);
    expect(cfg.health).toEqual({ maxLag: 500, stuckAfter: 120_000 });
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('ten seconds')).toBeUndefined();
  });

  it('kafka.transactionTimeout: 2 min by default, a duration between 1 s and the brokers\' 15 min cap', () => {
    expect(parseConfig(minimal, 't', {}).kafka.transactionTimeout).toBe(120_000);
    const withTimeout = (v: string) => minimal.replace('  brokers: [127.0.0.1:9092]', `  brokers: [127.0.0.1:9092]\n  transactionTimeout: ${v}`);
    expect(parseConfig(withTimeout('30s'), 't', {}).kafka.transactionTimeout).toBe(30_000);
    expect(problemsOf(withTimeout('20m'))).toEqual(['kafka.transactionTimeout: write a duration between 1s and 15m (brokers refuse more than their transaction.max.timeout.ms, 15m by default)']);
  });

  it('accepts a version column of null (no conflict protection) per table', () => {
    const cfg = parseConfig(`${minimal}tables:\n  app.logs: { versionColumn: null }\n`, 't', {});
    expect(cfg.tables['app.logs']?.versionColumn).toBeNull();
  });
});

describe('unknown keys', () => {
  it('names a misspelt key and suggests the right one', () => {
    const problems = problemsOf(minimal.replace('host: db-a', 'hots: db-a'));
    expect(problems).toEqual(['ezones.a.mysql.hots: unknown key — did you mean "host"?']);
  });

  it('lists the allowed keys when nothing is close', () => {
    const [problem] = problemsOf(`${minimal}capture: { zzzzzz: 1 }\n`);
    expect(problem).toMatch(/^capture\.zzzzzz: unknown key — remove it \(allowed here: maxBufferBytes, maxInFlightBatches, binlogHeartbeatMs\)/);
  });

  it('rejects unknown top-level keys', () => {
    expect(problemsOf(`${minimal}extra: true\n`)).toEqual([expect.stringMatching(/^extra: unknown key/)]);
  });
});

describe('environment interpolation', () => {
  const withEnv = minimal.replace('password: secret-a', 'password: "${DRC_A_PASSWORD}"').replace('port: 3307', 'port: "${B_PORT:-3308}"');

  it('substitutes variables, with defaults, on values (not on YAML structure)', () => {
    const cfg = parseConfig(withEnv, 't', { DRC_A_PASSWORD: 'p: #not yaml' });
    expect(cfg.ezones.a?.mysql.password).toBe('p: #not yaml');
    expect(cfg.ezones.b?.mysql.port).toBe(3308);
  });

  it('coerces a numeric variable into a numeric field', () => {
    const cfg = parseConfig(withEnv, 't', { DRC_A_PASSWORD: 'x', B_PORT: '4406' });
    expect(cfg.ezones.b?.mysql.port).toBe(4406);
  });

  it('names the key and the variable when it is unset', () => {
    expect(problemsOf(withEnv, {})).toEqual([
      'ezones.a.mysql.password: environment variable DRC_A_PASSWORD is not set — export it, or give a default with ${DRC_A_PASSWORD:-value}',
    ]);
  });

  it('keeps $$ as a literal dollar', () => {
    const cfg = parseConfig(minimal.replace('secret-a', 'pa$$word'), 't', {});
    expect(cfg.ezones.a?.mysql.password).toBe('pa$word');
  });
});

describe('errors', () => {
  it('reports every problem with its key path and a fix', () => {
    const problems = problemsOf(`
kafka:
  brokers: [localhost]
ezones:
  a:
    mysql: { port: "abc" }
  B:
    mysql: {}
    serverId: 3
ownership: { policy: maybe }
apply: { tombstoneRetention: 3 weeks }
`);
    expect(problems).toEqual([
      'kafka.brokers[0]: write a broker as host:port, e.g. 127.0.0.1:9092',
      'ezones.a.mysql.port: expected number, got string — change the value',
      'ezones.a.serverId: required key is missing — add it (number)',
      expect.stringMatching(/^ezones\.B: invalid name — ezone names are 1–32 characters/),
      'ownership.policy: must be one of: "report", "reject"',
      'apply.tombstoneRetention: "3 weeks" is not a duration — write it like 500ms, 10s, 5m, 24h or 7d',
    ]);
  });

  it('rejects a config without kafka or ezones', () => {
    expect(problemsOf('ezones: {}\n')).toEqual([
      'kafka: required key is missing — add it (object)',
      'ezones: define at least one ezone',
    ]);
  });

  it('rejects references to undefined ezones and reused reader ids', () => {
    const problems = problemsOf(
      `${minimal.replace('serverId: 102', 'serverId: 101').replace('host: db-b', 'host: db-a').replace('port: 3307', 'port: 3306')}` +
        'ownership:\n  routing: [{ shards: 0-511, ezone: a }, { shards: 512-1023, ezone: c }]\n  global: { app.config: z }\n',
    );
    expect(problems).toEqual([
      'ownership.routing[1].ezone: ezone "c" is not defined under ezones (known: a, b)',
      'ownership.global.app.config: ezone "z" is not defined under ezones (known: a, b)',
      'ezones.b.serverId: serverId 101 is also used by ezone "a" on the same server — give each reader its own id',
    ]);
  });

  it('reports YAML syntax errors and non-mapping documents', () => {
    expect(problemsOf('kafka: [unclosed\n')[0]).toMatch(/^: YAML syntax error/);
    expect(problemsOf('- a\n- b\n')).toEqual([': the file must be a YAML mapping with at least kafka: and ezones:']);
  });

  it('never puts a password into an error message', () => {
    const problems = problemsOf(minimal.replace('serverId: 101', 'serverId: -1'));
    expect(problems.join('\n')).not.toContain('secret-a');
  });
});

describe('config after load', () => {
  it('is deeply frozen: no stage can change what another sees', () => {
    const cfg = parseConfig(minimal, 'test.yaml', {});
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.ezones.a!.mysql)).toBe(true);
    expect(Object.isFrozen(cfg.kafka.brokers)).toBe(true);
    expect(() => {
      (cfg.apply as { workers: number }).workers = 99;
    }).toThrow(TypeError);
  });

  it('accepts capture.maxInFlightBatches with one deprecation warning naming the key, and drops it', () => {
    const heard: { path: string; message: string }[] = [];
    const cfg = parseConfig(`${minimal}capture: { maxInFlightBatches: 8 }\n`, 't', {}, { onDeprecated: (d) => heard.push(d) });
    expect(heard).toEqual([{ path: 'capture.maxInFlightBatches', message: expect.stringMatching(/has no effect/) }]);
    expect(cfg.capture).toEqual({ maxBufferBytes: 16 << 20, binlogHeartbeatMs: 1000 });
    expect('maxInFlightBatches' in cfg.capture).toBe(false);
  });

  it('says nothing when no deprecated key is present', () => {
    const heard: unknown[] = [];
    parseConfig(minimal, 't', {}, { onDeprecated: (d) => heard.push(d) });
    expect(heard).toEqual([]);
  });
});
