import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { schemaProblems } from './k8s-schemas';

/**
 * Checks of the Kubernetes base in docker/k8s/ against the app: every manifest parses, names itself and fits
 * its kind's schema (k8s-schemas.ts), the kustomizations list every file, each role's Deployment uses the port,
 * probes and APP_ROLE the app has, with a grace period that covers the shutdown, and the optional Redis takes
 * only FreeFace's pods, with a password. Pure functions over file contents, so that a test can break a copy in
 * memory and see the check fail (no cluster and no kubectl needed).
 */

/** The roles that run as Deployments, and the variable that holds each one's HTTP port. */
export const ROLE_PORT_VARIABLES = {
  api: 'PORT',
  worker: 'WORKER_HEALTH_PORT',
  monitor: 'MONITOR_PORT',
  smtp: 'SMTP_HEALTH_PORT',
} as const;

/** Ports a role serves besides its HTTP one (probes, /metrics), by the container port's name. */
export const ROLE_EXTRA_PORTS: Partial<Record<keyof typeof ROLE_PORT_VARIABLES, Record<string, string>>> = {
  smtp: { smtp: 'SMTP_INGRESS_PORT' },
};
export type DeployedRole = keyof typeof ROLE_PORT_VARIABLES;

/** The contract's probe paths (docs/API.md): liveness checks nothing, readiness checks Redis and queues. */
export const LIVENESS_PATH = '/health';
export const READINESS_PATH = '/health/ready';

/**
 * Seconds on top of SHUTDOWN_TIMEOUT_MS (and the preStop sleep) that the grace period must leave: main.ts ends
 * the process itself 4 s after SHUTDOWN_TIMEOUT_MS if a shutdown hook hangs; one more second for the exit.
 */
export const SHUTDOWN_MARGIN_SECONDS = 5;

/** The image name the manifests use (kustomization.yaml's `images:` maps it to a registry and tag). */
export const IMAGE_NAME = 'freeface-email-service';

/** What the check needs to know of the app. */
export interface AppFacts {
  /** Every variable's default (EnvSchema), as strings; the ConfigMap's values override them. */
  defaults: Readonly<Record<string, string>>;
  /** Bull queue names, one per priority (src/queue/queue-names.ts). */
  queueNames: readonly string[];
}

/** The YAML files of a folder, by path relative to it (with `/`), to check as they are or as a broken copy. */
export type ManifestFiles = Record<string, string>;

/** Every `.yaml`/`.yml` file under `dir`, recursively. */
export function readManifestFiles(dir: string): ManifestFiles {
  const files: ManifestFiles = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name))
        files[relative(dir, path).split(sep).join('/')] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return files;
}

interface HttpProbe {
  httpGet?: { path?: string; port?: number | string };
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
}
interface EnvEntry {
  name?: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name?: string; key?: string } };
}
interface Container {
  name?: string;
  image?: string;
  args?: string[];
  env?: EnvEntry[];
  envFrom?: { configMapRef?: { name?: string }; secretRef?: { name?: string } }[];
  ports?: { name?: string; containerPort?: number }[];
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  startupProbe?: HttpProbe;
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds?: number } } };
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: SecurityContext;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    terminationGracePeriodSeconds?: number;
    securityContext?: SecurityContext;
    containers?: Container[];
  };
}
interface WorkloadSpec {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string> };
  template?: PodTemplate;
}
interface ServiceSpec {
  selector?: Record<string, string>;
  ports?: { name?: string; port?: number; targetPort?: number | string }[];
}
interface ScaleTarget {
  scaleTargetRef?: { name?: string; kind?: string };
  triggers?: { type?: string; metadata?: Record<string, string> }[];
}

/** One parsed YAML document. */
export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  name: string;
  doc: {
    metadata?: { labels?: Record<string, string> };
    spec?: unknown;
    data?: Record<string, unknown>;
    stringData?: Record<string, unknown>;
    resources?: unknown;
    patches?: unknown;
  };
}

/** A patch file a kustomization applies (`patches[].path`): no object of its own, and no name to check. */
export interface Patch {
  file: string;
  doc: unknown;
}

interface PatchEntry {
  path?: string;
  target?: { kind?: string; name?: string; labelSelector?: string };
}

const stringOf = (value: unknown): string => (typeof value === 'string' ? value : '');
const isKustomization = (file: string) => /(^|\/)kustomization\.ya?ml$/.test(file);
const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '');
const inFolder = (folder: string, path: string) => (folder ? `${folder}/${path}` : path);

/** The `patches` of a kustomization, as written. */
const patchEntries = (kustomization: Manifest): PatchEntry[] =>
  Array.isArray(kustomization.doc.patches) ? (kustomization.doc.patches as PatchEntry[]) : [];

/** The files that some kustomization names under `patches[].path`, by their path from the base. */
function patchFiles(files: ManifestFiles): Set<string> {
  const paths = new Set<string>();
  for (const [file, text] of Object.entries(files)) {
    if (!isKustomization(file)) continue;
    for (const document of parseAllDocuments(text) as unknown as { toJS(): unknown }[]) {
      const patches = (document.toJS() as { patches?: unknown } | null)?.patches;
      if (!Array.isArray(patches)) continue;
      for (const entry of patches as PatchEntry[])
        if (typeof entry?.path === 'string') paths.add(inFolder(folderOf(file), entry.path));
    }
  }
  return paths;
}

/**
 * Every document of every file; a document without apiVersion, kind or metadata.name is a problem, unless it is
 * a patch (which names its targets in the kustomization instead).
 */
export function parseManifests(files: ManifestFiles): {
  manifests: Manifest[];
  patches: Patch[];
  problems: string[];
} {
  const manifests: Manifest[] = [];
  const patches: Patch[] = [];
  const problems: string[] = [];
  const patchPaths = patchFiles(files);
  for (const [file, text] of Object.entries(files)) {
    const documents = parseAllDocuments(text);
    if (!Array.isArray(documents)) {
      problems.push(`${file}: not a YAML stream`);
      continue;
    }
    documents.forEach((document, index) => {
      const where = `${file} (document ${index + 1})`;
      if (document.errors.length > 0) {
        problems.push(`${where}: ${document.errors[0]!.message.split('\n')[0]}`);
        return;
      }
      const doc = document.toJS() as Record<string, unknown> | null;
      if (doc === null) return;
      if (patchPaths.has(file)) {
        patches.push({ file, doc });
        return;
      }
      const metadata = doc.metadata as { name?: unknown } | undefined;
      const fields: [string, unknown][] = [
        ['apiVersion', doc.apiVersion],
        ['kind', doc.kind],
      ];
      // A kustomization names no object; everything else must.
      if (!isKustomization(file)) fields.push(['metadata.name', metadata?.name]);
      for (const [field, value] of fields) {
        if (stringOf(value) === '') problems.push(`${where}: ${field} is missing`);
      }
      manifests.push({
        file,
        apiVersion: stringOf(doc.apiVersion),
        kind: stringOf(doc.kind),
        name: stringOf(metadata?.name),
        doc,
      });
    });
  }
  return { manifests, patches, problems };
}

/**
 * Each kustomization lists exactly the YAML files of its folder, as resources or patches (subfolders are
 * components of their own).
 */
function checkKustomizations(files: ManifestFiles, manifests: Manifest[]): string[] {
  const problems: string[] = [];
  const kustomizations = manifests.filter((m) => isKustomization(m.file));
  if (!kustomizations.some((k) => k.file === 'kustomization.yaml' && k.kind === 'Kustomization')) {
    problems.push('kustomization.yaml: the base has no Kustomization');
  }
  for (const kustomization of kustomizations) {
    const folder = folderOf(kustomization.file);
    if (folder !== '' && kustomization.kind !== 'Component') {
      problems.push(`${kustomization.file}: an optional part must be a kustomize Component`);
    }
    const listed = new Set([
      ...((kustomization.doc.resources as unknown[] | undefined) ?? []).map((r) => String(r)),
      ...patchEntries(kustomization).flatMap((entry) => (entry.path ? [entry.path] : [])),
    ]);
    const present = Object.keys(files)
      .filter((file) => folderOf(file) === folder && file !== kustomization.file)
      .map((file) => (folder ? file.slice(folder.length + 1) : file));
    for (const file of present) {
      if (!listed.has(file)) problems.push(`${kustomization.file}: resources does not list ${file}`);
    }
    for (const resource of listed) {
      if (!present.includes(resource))
        problems.push(`${kustomization.file}: lists ${resource}, which does not exist`);
    }
  }
  return problems;
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

/** The container port a probe or Service names (by name or number), if the container has it. */
function resolvePort(container: Container, port: number | string | undefined): number | undefined {
  const ports = container.ports ?? [];
  if (typeof port === 'number') return ports.some((p) => p.containerPort === port) ? port : undefined;
  return ports.find((p) => p.name === port)?.containerPort;
}

/** Seconds the preStop hook holds the pod before SIGTERM (`sleep N` or the sleep action). */
function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep?.seconds) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  const sleep = command.findIndex((part) => /(^|\/)sleep$/.test(part));
  return sleep >= 0 ? Number(command[sleep + 1]) || 0 : 0;
}

interface RoleDeployment {
  manifest: Manifest;
  spec: WorkloadSpec;
  container: Container;
  port: number;
}

function checkDeployment(
  manifest: Manifest,
  config: Readonly<Record<string, string>>,
  names: { configMaps: Set<string>; secrets: Set<string> },
  problems: string[],
): [DeployedRole, RoleDeployment] | undefined {
  const where = `${manifest.file}: Deployment ${manifest.name}`;
  const spec = (manifest.doc.spec ?? {}) as WorkloadSpec;
  const pod = spec.template?.spec ?? {};
  const container = (pod.containers ?? []).find((c) => c.image?.split(':')[0] === IMAGE_NAME);
  if (!container) return undefined;
  const role = container.env?.find((e) => e.name === 'APP_ROLE')?.value;
  if (!role || !(role in ROLE_PORT_VARIABLES)) {
    problems.push(
      `${where}: APP_ROLE must be one of ${Object.keys(ROLE_PORT_VARIABLES).join(', ')} (is ${role ?? 'unset'})`,
    );
    return undefined;
  }
  const deployedRole = role as DeployedRole;
  const portVariable = ROLE_PORT_VARIABLES[deployedRole];
  const port = Number(config[portVariable]);

  if (!matches(spec.selector?.matchLabels, spec.template?.metadata?.labels)) {
    problems.push(`${where}: selector.matchLabels does not match the pod template's labels`);
  }
  for (const source of container.envFrom ?? []) {
    const configMap = source.configMapRef?.name;
    const secret = source.secretRef?.name;
    if (configMap && !names.configMaps.has(configMap))
      problems.push(`${where}: envFrom names a missing ConfigMap ${configMap}`);
    if (secret && !names.secrets.has(secret))
      problems.push(`${where}: envFrom names a missing Secret ${secret}`);
  }
  const ports = container.ports ?? [];
  const extra = Object.entries(ROLE_EXTRA_PORTS[deployedRole] ?? {});
  if (ports.length !== 1 + extra.length || ports[0]!.containerPort !== port) {
    problems.push(
      `${where}: containerPort must be ${portVariable} (${port}), the ${role} role's ${extra.length > 0 ? 'first' : 'only'} port (is ${ports.map((p) => p.containerPort).join(', ') || 'none'})`,
    );
  }
  for (const [name, variable] of extra) {
    const expected = Number(config[variable]);
    const found = ports.find((p) => p.name === name)?.containerPort;
    if (found !== expected)
      problems.push(
        `${where}: the port named ${name} must be ${variable} (${expected}) (is ${found ?? 'missing'})`,
      );
  }
  const probes: [string, HttpProbe | undefined, string, boolean][] = [
    ['livenessProbe', container.livenessProbe, LIVENESS_PATH, true],
    ['readinessProbe', container.readinessProbe, READINESS_PATH, true],
    ['startupProbe', container.startupProbe, LIVENESS_PATH, false],
  ];
  for (const [name, probe, path, required] of probes) {
    if (!probe) {
      if (required) problems.push(`${where}: ${name} is missing`);
      continue;
    }
    if (probe.httpGet?.path !== path) {
      problems.push(`${where}: ${name} must GET ${path} (is ${probe.httpGet?.path ?? 'not an httpGet'})`);
    }
    const probePort = resolvePort(container, probe.httpGet?.port);
    if (probePort !== port) {
      problems.push(
        `${where}: ${name} must use port ${port} (${portVariable}); it names ${String(probe.httpGet?.port)}` +
          ` (${probePort ?? 'not a port of the container'})`,
      );
    }
  }
  const scrapePort = spec.template?.metadata?.annotations?.['prometheus.io/port'];
  if (scrapePort !== undefined && Number(scrapePort) !== port) {
    problems.push(`${where}: the prometheus.io/port annotation must be ${port} (is ${scrapePort})`);
  }

  for (const kind of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (container.resources?.[kind]?.[resource] === undefined) {
        problems.push(`${where}: resources.${kind}.${resource} is missing`);
      }
    }
  }

  const podSecurity = pod.securityContext ?? {};
  const security = container.securityContext ?? {};
  const runAsUser = security.runAsUser ?? podSecurity.runAsUser;
  if (!(security.runAsNonRoot ?? podSecurity.runAsNonRoot))
    problems.push(`${where}: runAsNonRoot must be true`);
  if (typeof runAsUser !== 'number' || runAsUser === 0) {
    problems.push(
      `${where}: runAsUser must be a non-zero number (the image's user is a name the kubelet cannot check)`,
    );
  }
  if (security.readOnlyRootFilesystem !== true)
    problems.push(`${where}: readOnlyRootFilesystem must be true`);
  if (security.allowPrivilegeEscalation !== false)
    problems.push(`${where}: allowPrivilegeEscalation must be false`);
  if (!security.capabilities?.drop?.includes('ALL')) problems.push(`${where}: capabilities must drop ALL`);

  const shutdownSeconds = Number(config.SHUTDOWN_TIMEOUT_MS) / 1000;
  const preStop = preStopSeconds(container);
  const needed = shutdownSeconds + preStop + SHUTDOWN_MARGIN_SECONDS;
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (grace < needed) {
    problems.push(
      `${where}: terminationGracePeriodSeconds ${grace} is too short: SHUTDOWN_TIMEOUT_MS (${shutdownSeconds} s)` +
        ` + preStop (${preStop} s) + ${SHUTDOWN_MARGIN_SECONDS} s = ${needed} s`,
    );
  }
  if (deployedRole === 'api' && preStop <= 0) {
    problems.push(`${where}: the api needs a preStop sleep, so that its endpoint is removed before SIGTERM`);
  }
  return [deployedRole, { manifest, spec, container, port }];
}

/** The problems of the base and its optional components, given the app's facts; none means it is good. */
export function checkManifests(files: ManifestFiles, app: AppFacts): string[] {
  const { manifests, patches, problems } = parseManifests(files);
  problems.push(...checkKustomizations(files, manifests));
  const base = manifests.filter((m) => !m.file.includes('/'));
  const all = manifests.filter((m) => !isKustomization(m.file));
  problems.push(...all.flatMap(schemaProblems));
  const ofKind = (kind: string, list = all) => list.filter((m) => m.kind === kind);

  const configMaps = ofKind('ConfigMap', base);
  const secrets = ofKind('Secret', base);
  const configData: Record<string, string> = {};
  for (const configMap of configMaps) {
    for (const [key, value] of Object.entries(configMap.doc.data ?? {})) configData[key] = String(value);
  }
  const config = { ...app.defaults, ...configData };

  const roles = new Map<DeployedRole, RoleDeployment>();
  // Optional components' Deployments (the smtp role) are held to the same rules.
  for (const manifest of ofKind('Deployment')) {
    const checked = checkDeployment(
      manifest,
      config,
      { configMaps: new Set(configMaps.map((m) => m.name)), secrets: new Set(secrets.map((m) => m.name)) },
      problems,
    );
    if (!checked) continue;
    if (roles.has(checked[0]))
      problems.push(`${manifest.file}: a second Deployment for the ${checked[0]} role`);
    roles.set(...checked);
  }
  for (const [role, minimum] of [
    ['api', 2],
    ['worker', 2],
    ['monitor', 1],
  ] as const) {
    const deployment = roles.get(role);
    if (!deployment) problems.push(`no Deployment runs the ${role} role`);
    else if ((deployment.spec.replicas ?? 1) < minimum) {
      problems.push(`${deployment.manifest.file}: the ${role} Deployment needs at least ${minimum} replicas`);
    }
  }
  const byPodLabels = (selector: Record<string, string> | undefined) =>
    [...roles.entries()].filter(([, d]) => matches(selector, d.spec.template?.metadata?.labels));

  const servedRoles = new Set<DeployedRole>();
  // The app's Services: the base's, and those of optional components that run a role (not Redis's own).
  const appServices = ofKind('Service').filter(
    (service) =>
      !service.file.includes('/') ||
      byPodLabels((service.doc.spec as ServiceSpec | undefined)?.selector).length > 0,
  );
  for (const service of appServices) {
    const spec = (service.doc.spec ?? {}) as ServiceSpec;
    const targets = byPodLabels(spec.selector);
    const where = `${service.file}: Service ${service.name}`;
    if (targets.length !== 1) {
      problems.push(
        `${where}: its selector must match the pods of exactly one role (matches ${targets.length})`,
      );
      continue;
    }
    const [role, deployment] = targets[0]!;
    servedRoles.add(role);
    const servedPorts = [
      deployment.port,
      ...Object.values(ROLE_EXTRA_PORTS[role] ?? {}).map((variable) => Number(config[variable])),
    ];
    for (const port of spec.ports ?? []) {
      if (!servedPorts.includes(resolvePort(deployment.container, port.targetPort ?? port.port) ?? -1)) {
        problems.push(
          `${where}: targetPort ${String(port.targetPort)} is not the ${role} container's port ${deployment.port}`,
        );
      }
    }
  }
  for (const role of ['api', 'monitor'] as const) {
    if (!servedRoles.has(role)) problems.push(`no Service reaches the ${role} pods`);
  }

  const budgeted = new Set<DeployedRole>();
  for (const budget of ofKind('PodDisruptionBudget')) {
    const targets = byPodLabels((budget.doc.spec as WorkloadSpec | undefined)?.selector?.matchLabels);
    if (targets.length !== 1)
      problems.push(`${budget.file}: PodDisruptionBudget ${budget.name} matches no single role`);
    else budgeted.add(targets[0]![0]);
  }
  for (const role of ['api', 'worker'] as const) {
    if (!budgeted.has(role)) problems.push(`no PodDisruptionBudget covers the ${role} pods`);
  }

  const worker = roles.get('worker')?.manifest.name;
  const prefix = config.QUEUE_PREFIX;
  const expectedLists = app.queueNames.map((queue) => `${prefix}:${queue}:wait`).sort();
  let redisAddress: string | undefined;
  try {
    const url = new URL(config.REDIS_URL ?? '');
    redisAddress = `${url.hostname}:${url.port || '6379'}`;
  } catch {
    problems.push(`REDIS_URL ${config.REDIS_URL} is not a URL`);
  }
  const scaledObjects = ofKind('ScaledObject');
  if (scaledObjects.length === 0) problems.push('no KEDA ScaledObject scales the workers');
  for (const scaled of [...scaledObjects, ...ofKind('HorizontalPodAutoscaler')]) {
    const spec = (scaled.doc.spec ?? {}) as ScaleTarget;
    if (spec.scaleTargetRef?.name !== worker) {
      problems.push(
        `${scaled.file}: ${scaled.kind} ${scaled.name} must scale the worker Deployment ${worker}`,
      );
    }
  }
  for (const scaled of scaledObjects) {
    const triggers = ((scaled.doc.spec ?? {}) as ScaleTarget).triggers ?? [];
    const lists = triggers.filter((t) => t.type === 'redis').map((t) => t.metadata?.listName ?? '');
    if (JSON.stringify([...lists].sort()) !== JSON.stringify(expectedLists)) {
      problems.push(
        `${scaled.file}: the redis triggers must watch ${expectedLists.join(', ')} (one per priority); they watch ${lists.join(', ') || 'nothing'}`,
      );
    }
    for (const trigger of triggers.filter((t) => t.type === 'redis')) {
      // KEDA reads `addressFromEnv` from the worker container's environment: the ConfigMap here.
      const fromEnv = trigger.metadata?.addressFromEnv;
      const address = fromEnv ? config[fromEnv] : trigger.metadata?.address;
      const named = fromEnv ? `${fromEnv} (${address ?? 'not in the ConfigMap'})` : String(address);
      if (address !== redisAddress) {
        problems.push(`${scaled.file}: trigger address ${named} is not REDIS_URL's ${redisAddress}`);
      }
    }
  }
  problems.push(
    ...checkOptionalRedis(
      manifests,
      patches,
      [...roles.values()],
      config.REDIS_URL,
      scaledObjects.length > 0,
    ),
  );
  return problems;
}

/** KEDA's operator as its chart installs it: it reads the queue depth from Redis for worker-autoscaling.yaml. */
export const KEDA_OPERATOR = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'keda-operator' } },
};

interface NetworkPolicyPeer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: unknown;
}
interface NetworkPolicySpec {
  podSelector?: { matchLabels?: Record<string, string> };
  policyTypes?: string[];
  ingress?: { from?: NetworkPolicyPeer[]; ports?: { port?: number | string }[] }[];
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The optional Redis (a StatefulSet of a component that runs a redis image): it requires a password from a
 * Secret of its component; the component's patch gives every FreeFace Deployment a REDIS_URL with that password
 * (REDIS_PASSWORD defined first, so that Kubernetes expands it); and a NetworkPolicy of the component lets only
 * FreeFace's pods (and KEDA's operator, when a ScaledObject reads Redis) reach Redis's port, and nothing else.
 */
function checkOptionalRedis(
  manifests: Manifest[],
  patches: Patch[],
  apps: RoleDeployment[],
  redisUrl: string | undefined,
  kedaReadsRedis: boolean,
): string[] {
  const problems: string[] = [];
  const redisSets = manifests.filter(
    (m) =>
      m.kind === 'StatefulSet' &&
      m.file.includes('/') &&
      ((m.doc.spec as WorkloadSpec | undefined)?.template?.spec?.containers ?? []).some((c) =>
        c.image?.startsWith('redis:'),
      ),
  );
  const appPodLabels = apps.map((app) => app.spec.template?.metadata?.labels ?? {});
  const appDeploymentLabels = apps.map((app) => app.manifest.doc.metadata?.labels ?? {});
  for (const redis of redisSets) {
    const folder = folderOf(redis.file);
    const where = `${redis.file}: StatefulSet ${redis.name}`;
    const spec = (redis.doc.spec ?? {}) as WorkloadSpec;
    const container = (spec.template?.spec?.containers ?? []).find((c) => c.image?.startsWith('redis:'))!;
    const podLabels = spec.template?.metadata?.labels ?? {};
    const ofFolder = (kind: string) =>
      manifests.filter((m) => m.kind === kind && folderOf(m.file) === folder);

    // The password: from a Secret of the component, required by Redis.
    const secretRef = container.env?.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef;
    const secret = ofFolder('Secret').find((m) => m.name === secretRef?.name);
    const secretKeys = Object.keys({ ...secret?.doc.data, ...secret?.doc.stringData });
    if (!secretRef?.key || !secret || !secretKeys.includes(secretRef.key))
      problems.push(`${where}: REDIS_PASSWORD must come from a key of a Secret of ${folder}`);
    const args = container.args ?? [];
    if (args[args.indexOf('--requirepass') + 1] !== '$(REDIS_PASSWORD)' || !args.includes('--requirepass'))
      problems.push(`${where}: Redis must require the password (args --requirepass $(REDIS_PASSWORD))`);

    // The app's REDIS_URL: the ConfigMap's, with the password, on every FreeFace Deployment.
    const kustomization = manifests.find((m) => isKustomization(m.file) && folderOf(m.file) === folder);
    const appPatch = patchEntries(kustomization ?? ({ doc: {} } as Manifest))
      .filter((entry) => entry.target?.kind === 'Deployment')
      .map((entry) => ({ entry, patch: patches.find((p) => p.file === inFolder(folder, entry.path ?? '')) }))
      .find(({ patch }) => JSON.stringify(patch?.doc ?? '').includes('REDIS_URL'));
    if (!appPatch?.patch) {
      problems.push(`${folder}: no patch gives the FreeFace Deployments a REDIS_URL with the Redis password`);
    } else {
      const patchFile = appPatch.patch.file;
      const selector = Object.fromEntries(
        (appPatch.entry.target?.labelSelector ?? '').split(',').map((pair) => pair.split('=')),
      ) as Record<string, string>;
      if (!appDeploymentLabels.every((labels) => matches(selector, labels)))
        problems.push(
          `${folder}/kustomization.yaml: the patch ${patchFile} must target every FreeFace Deployment`,
        );
      const env =
        (appPatch.patch.doc as { spec?: WorkloadSpec }).spec?.template?.spec?.containers?.[0]?.env ?? [];
      const password = env.findIndex((e) => e.name === 'REDIS_PASSWORD');
      const url = env.findIndex((e) => e.name === 'REDIS_URL');
      if (password < 0 || !sameJson(env[password]!.valueFrom?.secretKeyRef, secretRef))
        problems.push(`${patchFile}: REDIS_PASSWORD must come from the Secret Redis takes its password from`);
      const expected = redisUrl?.replace(/^(rediss?:\/\/)/, '$1:$(REDIS_PASSWORD)@');
      if (url < 0 || url < password || env[url]!.value !== expected)
        problems.push(
          `${patchFile}: REDIS_URL must be ${expected}, after REDIS_PASSWORD (is ${env[url]?.value ?? 'missing'})`,
        );
    }

    // Who may connect: FreeFace's pods, KEDA's operator when it reads the queue depth, on Redis's port.
    const policies = ofFolder('NetworkPolicy').filter((m) =>
      matches((m.doc.spec as NetworkPolicySpec | undefined)?.podSelector?.matchLabels, podLabels),
    );
    if (policies.length === 0) problems.push(`${where}: no NetworkPolicy of ${folder} selects its pods`);
    const redisPort = container.ports?.find((p) => p.name === 'redis' || p.containerPort === 6379);
    for (const policy of policies) {
      const policyWhere = `${policy.file}: NetworkPolicy ${policy.name}`;
      const policySpec = (policy.doc.spec ?? {}) as NetworkPolicySpec;
      if (!policySpec.policyTypes?.includes('Ingress'))
        problems.push(`${policyWhere}: policyTypes must include Ingress`);
      for (const rule of policySpec.ingress ?? []) {
        if (!rule.from?.length) problems.push(`${policyWhere}: a rule without from admits every pod`);
        const ports = rule.ports ?? [];
        if (
          !ports.length ||
          !ports.every((p) => p.port === redisPort?.name || p.port === redisPort?.containerPort)
        )
          problems.push(`${policyWhere}: a rule must name Redis's port alone`);
        for (const peer of rule.from ?? []) {
          const selector = peer.podSelector?.matchLabels;
          const freefacePods =
            !peer.ipBlock &&
            !peer.namespaceSelector &&
            appPodLabels.every((labels) => matches(selector, labels)) &&
            !matches(selector, podLabels);
          const keda =
            kedaReadsRedis &&
            !peer.ipBlock &&
            sameJson(peer.namespaceSelector, KEDA_OPERATOR.namespaceSelector) &&
            sameJson(peer.podSelector, KEDA_OPERATOR.podSelector);
          if (!freefacePods && !keda)
            problems.push(
              `${policyWhere}: admits ${JSON.stringify(peer)}, which is neither FreeFace's pods nor KEDA's operator`,
            );
        }
      }
    }
  }
  return problems;
}

/** The environment a pod gets from the ConfigMaps and Secrets of the base (Secret values may be replaced). */
export function podEnvironment(
  files: ManifestFiles,
  secretValue: (key: string, value: string) => string = (_key, value) => value,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const manifest of parseManifests(files).manifests.filter((m) => !m.file.includes('/'))) {
    if (manifest.kind === 'ConfigMap') {
      for (const [key, value] of Object.entries(manifest.doc.data ?? {})) env[key] = String(value);
    }
    if (manifest.kind === 'Secret') {
      for (const [key, value] of Object.entries(manifest.doc.stringData ?? {})) {
        env[key] = secretValue(key, String(value));
      }
    }
  }
  return env;
}
