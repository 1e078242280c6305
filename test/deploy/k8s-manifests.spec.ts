import 'reflect-metadata';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateToken } from '../../src/common/token-format';
import { EnvSchema } from '../../src/config/env.schema';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import type { Role } from '../../src/config/roles';
import { EMAIL_QUEUES } from '../../src/queue/queue-names';
import {
  checkManifests,
  parseManifests,
  podEnvironment,
  readManifestFiles,
  ROLE_PORT_VARIABLES,
  type AppFacts,
  type ManifestFiles,
} from './k8s-manifests';

const K8S_DIR = join(__dirname, '..', '..', 'docker', 'k8s');

const app: AppFacts = {
  defaults: Object.fromEntries(
    Object.entries(new EnvSchema())
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, String(value)]),
  ),
  queueNames: Object.values(EMAIL_QUEUES),
};

let files: ManifestFiles;

beforeAll(() => {
  files = readManifestFiles(K8S_DIR);
});

/** A copy of the manifests with one text replaced in one file (the text must be there). */
function broken(file: string, from: string, to: string): ManifestFiles {
  const text = files[file];
  if (text === undefined || !text.includes(from)) throw new Error(`${file} has no "${from}" to break`);
  return { ...files, [file]: text.replace(from, to) };
}

describe('docker/k8s', () => {
  it('parses every manifest, each with apiVersion, kind and metadata.name', () => {
    const { manifests, problems } = parseManifests(files);
    expect(problems).toEqual([]);
    expect(manifests.map((m) => `${m.kind}/${m.name}`)).toEqual(
      expect.arrayContaining([
        'Deployment/freeface-api',
        'Deployment/freeface-worker',
        'Deployment/freeface-monitor',
        'Service/freeface-api',
        'Service/freeface-monitor',
        'ConfigMap/freeface-config',
        'Secret/freeface-secrets',
        'ScaledObject/freeface-worker',
        'PodDisruptionBudget/freeface-api',
        'PodDisruptionBudget/freeface-worker',
        'HorizontalPodAutoscaler/freeface-worker',
        'StatefulSet/redis',
        'Secret/freeface-redis',
        'NetworkPolicy/redis',
      ]),
    );
  });

  it("matches the app's ports, probes, roles, shutdown timeout and queue names", () => {
    expect(checkManifests(files, app)).toEqual([]);
  });

  it('gives every role the port of its own variable, as the app defaults it', () => {
    expect(Object.fromEntries(Object.values(ROLE_PORT_VARIABLES).map((v) => [v, app.defaults[v]]))).toEqual({
      PORT: '3000',
      WORKER_HEALTH_PORT: '3001',
      MONITOR_PORT: '8011',
      SMTP_HEALTH_PORT: '3002',
    });
  });

  it.each<[string, () => ManifestFiles, string]>([
    [
      'an SMTP ingress port other than SMTP_INGRESS_PORT',
      () => broken('optional/smtp-ingress/smtp.yaml', 'containerPort: 2525', 'containerPort: 2526'),
      'the port named smtp must be SMTP_INGRESS_PORT (2525)',
    ],
    [
      'SMTP ingress probes on the SMTP port',
      () => broken('optional/smtp-ingress/smtp.yaml', 'containerPort: 3002', 'containerPort: 3003'),
      'containerPort must be SMTP_HEALTH_PORT (3002)',
    ],
    [
      'a containerPort other than PORT',
      () => broken('api.yaml', 'containerPort: 3000', 'containerPort: 3100'),
      'containerPort must be PORT (3000)',
    ],
    [
      'a port changed in the ConfigMap only',
      () => broken('configmap.yaml', "PORT: '3000'", "PORT: '8080'"),
      'containerPort must be PORT (8080)',
    ],
    [
      'a number left unquoted in the ConfigMap',
      () => broken('configmap.yaml', "WORKER_HEALTH_PORT: '3001'", 'WORKER_HEALTH_PORT: 3001'),
      'configmap.yaml: ConfigMap freeface-config: data.WORKER_HEALTH_PORT must be string',
    ],
    [
      'a readiness probe on another path',
      () => broken('worker.yaml', 'path: /health/ready', 'path: /ready'),
      'readinessProbe must GET /health/ready',
    ],
    [
      'a liveness probe that checks dependencies',
      () =>
        broken(
          'monitor.yaml',
          'path: /health\n              port: http\n            periodSeconds: 10',
          'path: /health/ready\n              port: http\n            periodSeconds: 10',
        ),
      'livenessProbe must GET /health',
    ],
    [
      'a probe on the wrong port',
      () => broken('monitor.yaml', 'port: http', 'port: 3000'),
      'startupProbe must use port 8011',
    ],
    [
      'a misspelt APP_ROLE',
      () => broken('worker.yaml', 'value: worker', 'value: wroker'),
      'APP_ROLE must be one of',
    ],
    [
      'a Service targeting another port',
      () => broken('api.yaml', 'targetPort: http', 'targetPort: 3001'),
      'targetPort 3001 is not the api container',
    ],
    [
      'a Service selecting no pods',
      () =>
        broken(
          'monitor.yaml',
          'app.kubernetes.io/component: monitor\n  ports:',
          'app.kubernetes.io/component: dashboard\n  ports:',
        ),
      'its selector must match the pods of exactly one role',
    ],
    [
      'a file left out of the kustomization',
      () => broken('kustomization.yaml', '  - monitor.yaml\n', ''),
      'resources does not list monitor.yaml',
    ],
    [
      'a file the kustomization lists but that does not exist',
      () => broken('kustomization.yaml', '  - monitor.yaml\n', '  - monitor.yaml\n  - ingress.yaml\n'),
      'lists ingress.yaml, which does not exist',
    ],
    [
      'a new manifest nobody listed',
      () => ({
        ...files,
        'ingress.yaml': 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: x\n',
      }),
      'resources does not list ingress.yaml',
    ],
    [
      'a grace period shorter than the shutdown',
      () => broken('worker.yaml', 'terminationGracePeriodSeconds: 35', 'terminationGracePeriodSeconds: 25'),
      'terminationGracePeriodSeconds 25 is too short',
    ],
    [
      'a shutdown timeout raised past the grace period',
      () => broken('configmap.yaml', "SHUTDOWN_TIMEOUT_MS: '25000'", "SHUTDOWN_TIMEOUT_MS: '40000'"),
      'terminationGracePeriodSeconds 35 is too short: SHUTDOWN_TIMEOUT_MS (40 s)',
    ],
    [
      'an api without its preStop sleep',
      () => broken('api.yaml', "command: ['sleep', '5']", "command: ['sleep', '0']"),
      'the api needs a preStop sleep',
    ],
    [
      'a writable root filesystem',
      () => broken('api.yaml', 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'),
      'readOnlyRootFilesystem must be true',
    ],
    [
      'a KEDA trigger on a misspelt list',
      () => broken('worker-autoscaling.yaml', "'{freeface}:emails-low:wait'", "'{freeface}:emails-lo:wait'"),
      'the redis triggers must watch {freeface}:emails-high:wait',
    ],
    [
      'a QUEUE_PREFIX changed without the KEDA lists',
      () => broken('configmap.yaml', "QUEUE_PREFIX: '{freeface}'", "QUEUE_PREFIX: '{mail}'"),
      'must watch {mail}:emails-high:wait, {mail}:emails-low:wait, {mail}:emails-medium:wait',
    ],
    [
      'a KEDA address that is not REDIS_URL',
      () =>
        broken(
          'configmap.yaml',
          'REDIS_ADDRESS: redis.freeface.svc.cluster.local:6379',
          'REDIS_ADDRESS: redis:6379',
        ),
      "trigger address REDIS_ADDRESS (redis:6379) is not REDIS_URL's redis.freeface.svc.cluster.local:6379",
    ],
    [
      'a REDIS_URL changed without the KEDA address',
      () =>
        broken(
          'configmap.yaml',
          'REDIS_URL: redis://redis.freeface.svc.cluster.local:6379',
          'REDIS_URL: redis://cache.example:6380',
        ),
      "is not REDIS_URL's cache.example:6380",
    ],
    [
      'a manifest without metadata.name',
      () => broken('monitor.yaml', '  name: freeface-monitor\n', ''),
      'monitor.yaml (document 1): metadata.name is missing',
    ],
    [
      'a file that is not YAML',
      () => ({ ...files, 'api.yaml': `${files['api.yaml']}\n  bad: [unclosed\n` }),
      'api.yaml (document 3)',
    ],
    [
      'an optional Redis that requires no password',
      () =>
        broken(
          'optional/redis/redis.yaml',
          '            - --requirepass\n            - $(REDIS_PASSWORD)\n',
          '',
        ),
      'StatefulSet redis: Redis must require the password (args --requirepass $(REDIS_PASSWORD))',
    ],
    [
      "an optional Redis whose password is not its component's Secret",
      () => broken('optional/redis/redis-secret.yaml', 'name: freeface-redis', 'name: redis-password'),
      'StatefulSet redis: REDIS_PASSWORD must come from a key of a Secret of optional/redis',
    ],
    [
      'an app REDIS_URL without the Redis password',
      () => broken('optional/redis/app-redis-password.yaml', 'redis://:$(REDIS_PASSWORD)@', 'redis://'),
      'REDIS_URL must be redis://:$(REDIS_PASSWORD)@redis.freeface.svc.cluster.local:6379, after REDIS_PASSWORD',
    ],
    [
      'an app patch that leaves out some FreeFace Deployments',
      () =>
        broken(
          'optional/redis/kustomization.yaml',
          'labelSelector: app.kubernetes.io/name=freeface',
          'labelSelector: app.kubernetes.io/component=api',
        ),
      'the patch optional/redis/app-redis-password.yaml must target every FreeFace Deployment',
    ],
    [
      'an optional Redis without its NetworkPolicy',
      () => broken('optional/redis/network-policy.yaml', 'kind: NetworkPolicy', 'kind: NetworkPolicyDraft'),
      'StatefulSet redis: no NetworkPolicy of optional/redis selects its pods',
    ],
    [
      'a NetworkPolicy that admits every pod of the namespace',
      () =>
        broken(
          'optional/redis/network-policy.yaml',
          'matchLabels:\n              app.kubernetes.io/name: freeface',
          'matchLabels: {}',
        ),
      'NetworkPolicy redis: admits {"podSelector":{"matchLabels":{}}}, which is neither',
    ],
    [
      'a NetworkPolicy that admits an address range',
      () =>
        broken(
          'optional/redis/network-policy.yaml',
          '- podSelector:\n            matchLabels:\n              app.kubernetes.io/name: freeface',
          '- ipBlock:\n            cidr: 10.0.0.0/8',
        ),
      'NetworkPolicy redis: admits {"ipBlock":{"cidr":"10.0.0.0/8"}}, which is neither',
    ],
    [
      'a NetworkPolicy rule without from',
      () =>
        broken(
          'optional/redis/network-policy.yaml',
          '    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: freeface\n      ports:',
          '    - ports:',
        ),
      'NetworkPolicy redis: a rule without from admits every pod',
    ],
    [
      'a NetworkPolicy that opens another port',
      () => broken('optional/redis/network-policy.yaml', '- port: redis', '- port: 8080'),
      "NetworkPolicy redis: a rule must name Redis's port alone",
    ],
    [
      'a replica count written as a string (schema)',
      () => broken('worker.yaml', 'replicas: 2', "replicas: '2'"),
      'worker.yaml: Deployment freeface-worker: spec.replicas must be integer',
    ],
    [
      'a memory limit that is not a quantity (schema)',
      () => broken('worker.yaml', 'memory: 512Mi', 'memory: 512 megabytes'),
      'spec.template.spec.containers[0].resources.limits.memory must be number, must match format "quantity"',
    ],
    [
      'a port protocol Kubernetes does not know (schema)',
      () => broken('api.yaml', 'protocol: TCP', 'protocol: TPC'),
      'containers[0].ports[0].protocol must be equal to one of the allowed values',
    ],
    [
      "a KEDA trigger's list length left unquoted (KEDA's schema)",
      () => broken('worker-autoscaling.yaml', "listLength: '10'", 'listLength: 10'),
      'worker-autoscaling.yaml: ScaledObject freeface-worker: spec.triggers[0].metadata.listLength must be string',
    ],
    [
      'an object of a kind no schema covers',
      () => broken('namespace.yaml', 'apiVersion: v1', 'apiVersion: v2'),
      'namespace.yaml: Namespace freeface: no schema for v2 Namespace',
    ],
    [
      'no disruption budget for the workers',
      () => broken('worker.yaml', 'kind: PodDisruptionBudget', 'kind: PodDisruptionBudgetX'),
      'no PodDisruptionBudget covers the worker pods',
    ],
  ])('fails on %s', (_what, copy, problem) => {
    const problems = checkManifests(copy(), app);
    expect(problems.join('\n')).toContain(problem);
  });

  it('configures a production app that starts in every role once the placeholders are filled in', () => {
    const env = podEnvironment(files, (key, value) => {
      if (value === '') return value;
      return /^SERVICE_TOKEN_\w+_(PRIMARY|SECONDARY)$/.test(key)
        ? generateToken('live')
        : 'a-real-secret-value';
    });
    // The smtp role's STARTTLS files come from the freeface-smtp-tls Secret, mounted: stand-ins here.
    const dir = mkdtempSync(join(tmpdir(), 'k8s-smtp-tls-'));
    const tls = {
      SMTP_INGRESS_TLS_CERT: join(dir, 'tls.crt'),
      SMTP_INGRESS_TLS_KEY: join(dir, 'tls.key'),
    };
    writeFileSync(
      tls.SMTP_INGRESS_TLS_CERT,
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    );
    writeFileSync(tls.SMTP_INGRESS_TLS_KEY, '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    for (const role of Object.keys(ROLE_PORT_VARIABLES) as Role[]) {
      const config = loadConfig({ ...env, ...(role === 'smtp' ? tls : {}), APP_ROLE: role }, new Set([role]));
      expect(config.environment).toBe('production');
      expect(config.auth.services.map((s) => s.service).sort()).toEqual(['billing-api', 'ops', 'prometheus']);
    }
  });

  it('refuses to start with the placeholder tokens of secret.yaml', () => {
    const env = podEnvironment(files);
    expect(() => loadConfig(env, new Set<Role>(['api']))).toThrow(ConfigError);
    expect(() => loadConfig(env, new Set<Role>(['api']))).toThrow(/SERVICE_TOKEN_BILLING_API_PRIMARY/);
  });
});
