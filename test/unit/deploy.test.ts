import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/loader.js';
import { connectionOptions } from '../../src/db/connect.js';
import { createMetrics, type DaemonView } from '../../src/ops/metrics.js';
import { DAEMON_NODE_OPTIONS } from '../../src/ops/runtime.js';

const read = (p: string) => readFileSync(new URL(`../../deploy/${p}`, import.meta.url), 'utf8');

describe('deploy artefacts (validated as far as a machine without Docker or Kubernetes allows)', () => {
  it('Dockerfile: multi-stage, runs as a non-root user, starts the drc binary', () => {
    const text = read('Dockerfile');
    expect(text.match(/^FROM /gm)?.length).toBe(2);
    expect(text.match(/^FROM node:24-bookworm-slim/gm)?.length).toBe(2); // Node 24 LTS, build and run
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/ENTRYPOINT \["node", "dist\/cli\/main.js"\]/);
    expect(text).toContain(`ENV NODE_OPTIONS="${DAEMON_NODE_OPTIONS}"`); // Kubernetes and compose run this image
  });

  it('docker compose: two MySQL 8.4 configured for DRC, Kafka, a daemon per ezone with a config that passes the schema; passwords as Docker secrets (files), none in the environment', () => {
    type Service = { image?: string; command?: string[]; environment?: Record<string, string>; secrets?: (string | { source: string; target: string })[]; volumes?: string[] };
    const composeText = read('compose/docker-compose.yml');
    const compose = parse(composeText, { merge: true }) as { services: Record<string, Service>; secrets: Record<string, { file?: string }> };
    expect(Object.keys(compose.services).sort()).toEqual(['drc-a', 'drc-b', 'kafka', 'mysql-a', 'mysql-b']);
    for (const s of Object.values(compose.services)) {
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        if (/PASSWORD/.test(k)) expect(k, `${k} is a file, not a value`).toMatch(/_FILE$/);
        if (/PASSWORD/.test(k)) expect(v).toMatch(/^\/run\/secrets\//);
      }
    }
    expect(composeText).not.toMatch(/-p\$\{|PASSWORD:-/); // no password on a command line or defaulted in the environment
    for (const secret of Object.values(compose.secrets)) expect(secret.file).toMatch(/^\.\/secrets\//);
    const sourceOf = (s: string | { source: string }) => (typeof s === 'string' ? s : s.source);
    for (const ez of ['a', 'b']) {
      const server = compose.services[`mysql-${ez}`]!;
      expect(server.command).toEqual(expect.arrayContaining(['--binlog-format=ROW', '--binlog-row-image=FULL', '--binlog-row-metadata=FULL']));
      expect(server.environment).toEqual({ MYSQL_ROOT_PASSWORD_FILE: '/run/secrets/mysql-root-password' });
      // The server creates DRC's account with its ezone's secret, mounted where the init script reads it.
      expect(server.secrets).toContainEqual({ source: `mysql-${ez}-password`, target: 'drc-password' });
      expect(server.volumes).toContain('./init-drc-user.sh:/docker-entrypoint-initdb.d/drc.sh:ro');
    }
    const init = read('compose/init-drc-user.sh');
    expect(init).toContain('/run/secrets/drc-password');
    expect(init).toMatch(/GRANT SELECT, INSERT, UPDATE, DELETE, REPLICATION SLAVE, REPLICATION CLIENT ON \*\.\* TO 'drc'@'%'/);
    expect(init.match(/^GRANT .*$/gm)?.join('\n')).not.toMatch(/SUPER|ALL PRIVILEGES ON \*\.\*/);

    // The secrets as the containers see them: files under /run/secrets.
    const mounted = mkdtempSync(join(tmpdir(), 'drc-compose-'));
    const text = read('compose/drc.yaml');
    expect(text).not.toMatch(/password:/); // passwordFile only
    const config = parseConfig(text.replaceAll('/run/secrets/', `${mounted}/`), 'compose/drc.yaml', {});
    for (const ez of ['a', 'b']) {
      const daemon = compose.services[`drc-${ez}`]!;
      expect(daemon.command!.slice(0, 5)).toEqual(['run', '--config', '/etc/drc/drc.yaml', '--ezone', ez]);
      expect(daemon.environment).toBeUndefined();
      expect(daemon.secrets!.map(sourceOf)).toEqual([`mysql-${ez}-password`]); // its own ezone's only
      expect(config.ezones[ez]?.mysql.host).toBe(`mysql-${ez}`);
      writeFileSync(join(mounted, `mysql-${ez}-password`), `secret-of-${ez}\n`);
      expect(connectionOptions(config.ezones[ez]!.mysql).password).toBe(`secret-of-${ez}`);
    }
  });

  it('Kubernetes: well-formed objects; a Deployment per ezone with a standby, probes on /healthz, config and secrets wired', () => {
    const docs = parseAllDocuments(read('k8s/drc.yaml')).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown });
    for (const d of docs) expect(d).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String), metadata: { name: expect.stringMatching(/^[a-z0-9-]+$/) } });
    const configMap = docs.find((d) => d.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const secret = docs.find((d) => d.kind === 'Secret') as unknown as { metadata: { name: string }; stringData: Record<string, string> };
    // The Secrets as the pod sees them: files under /etc/drc/secrets and /etc/drc/tls.
    const mounted = mkdtempSync(join(tmpdir(), 'drc-k8s-'));
    const tlsSecret = docs.filter((d) => d.kind === 'Secret')[1] as unknown as { stringData: Record<string, string> };
    for (const [sub, data] of [['secrets', secret.stringData], ['tls', tlsSecret.stringData]] as const) {
      mkdirSync(join(mounted, sub));
      for (const [k, v] of Object.entries(data)) writeFileSync(join(mounted, sub, k), v);
    }
    const text = configMap.data['drc.yaml']!;
    expect(text).not.toMatch(/password:/); // passwordFile only
    const config = parseConfig(text.replaceAll('/etc/drc/', `${mounted}/`), 'configmap', {});
    expect(connectionOptions(config.ezones.east!.mysql).password).toBe(secret.stringData['mysql-east-password']);
    expect(config.kafka.sasl?.password).toBe(secret.stringData['kafka-password']);
    const deployments = docs.filter((d) => d.kind === 'Deployment') as unknown as {
      spec: { replicas: number; template: { metadata: { annotations: Record<string, string> }; spec: { securityContext: { runAsUser: number; fsGroup?: number }; volumes: { name: string; secret?: { secretName: string; defaultMode: number; items?: { key: string }[] } }[]; containers: { args: string[]; volumeMounts: { mountPath: string }[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } }[] } } };
    }[];
    expect(deployments.map((d) => d.spec.template.spec.containers[0]!.args[4]).sort()).toEqual(Object.keys(config.ezones).sort());
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0]!;
      expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
      expect([c.readinessProbe.httpGet.path, c.livenessProbe.httpGet.path]).toEqual(['/healthz', '/healthz']);
      expect(c.volumeMounts.map((m) => m.mountPath)).toEqual(expect.arrayContaining(['/etc/drc/secrets', '/etc/drc/tls']));
      const secrets = d.spec.template.spec.volumes.find((v) => v.name === 'secrets')?.secret;
      expect(secrets?.secretName).toBe(secret.metadata.name);
      // The daemon's user can read them (root-owned files: group-readable through fsGroup), and only its own ezone's MySQL password.
      const { runAsUser, fsGroup } = d.spec.template.spec.securityContext;
      expect(runAsUser === 0 || (fsGroup !== undefined && (secrets!.defaultMode & 0o040) !== 0)).toBe(true);
      expect(secrets?.items?.map((i) => i.key).sort()).toEqual(['kafka-password', `mysql-${c.args[4]}-password`]);
      expect(c).not.toHaveProperty('envFrom');
      expect(d.spec.template.metadata.annotations['prometheus.io/scrape']).toBe('true');
    }
  });

  it('Prometheus alert rules cover lag, stuck streams, conflicts and dead letters, with metrics the daemon exports', async () => {
    const rules = (parse(read('prometheus/alerts.yml')) as { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['DRCLagHigh', 'DRCStreamStuck', 'DRCConflictRate', 'DRCDeadLetters', 'DRCCapturePaused', 'DRCQuarantined', 'DRCTableRefused']));
    const view: DaemonView = { ezone: 'x', capture: { sample: () => ({ transactions: 0, appliedTransactions: 0, rowChanges: 0, messages: 0, restarts: 0, wrongWrites: 0, committedPosition: '', coveredPosition: '', lastCommitAt: 0, lastEventAt: 0, queuedBytes: 0 }) }, appliers: new Map() };
    const exported = new Set((await createMetrics(view).getMetricsAsJSON()).map((m) => m.name));
    for (const r of rules) {
      expect(['warning', 'critical']).toContain(r.labels.severity);
      for (const name of r.expr.match(/drc_[a-z_]+/g) ?? []) expect(exported, `${r.alert} uses ${name}`).toContain(name);
    }
  });

  it('systemd unit: one instance per ezone, non-root, drains on SIGTERM', () => {
    const unit = read('systemd/drc@.service');
    expect(unit).toMatch(/^ExecStart=.* run --config \/etc\/drc\/drc.yaml --ezone %i/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit).toMatch(/^User=drc$/m);
    expect(unit).toMatch(/^LoadCredential=%i-mysql-password:/m); // secrets as files, no EnvironmentFile
    expect(unit).not.toMatch(/^EnvironmentFile=/m);
    expect(unit).toContain(`Environment="NODE_OPTIONS=${DAEMON_NODE_OPTIONS}"`);
  });
});
