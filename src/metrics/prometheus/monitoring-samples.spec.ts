import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../config/load-config';
import { EmailEvents } from '../../events/email-events';
import type { AppLogger } from '../../logging/app-logger';
import { ClusterGauges } from '../../queue-figures/cluster-gauges';
import type { QueueFiguresService } from '../../queue-figures/queue-figures.service';
import { METRIC_NAMES } from './metric-names';
import { PrometheusMetrics } from './prometheus-metrics';

/**
 * The samples under docker/ (Prometheus scrape config, alert rules, Grafana dashboard) are read as the tools
 * would read them, and every query in them may name only series the app exports (promtool is not available
 * here, so this is the check that a renamed metric does not silently break an alert).
 */
const ROOT = join(__dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Functions and aggregations the samples may use (a typo in one is an error too). */
const PROMQL_FUNCTIONS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'delta',
  'deriv',
  'histogram_quantile',
  'max_over_time',
  'min_over_time',
  'avg_over_time',
  'absent',
  'clamp_min',
  'topk',
]);
const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool']);
/** Series Prometheus itself adds to every target. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds']);

/** The metric names and function names a PromQL expression uses (label matchers, ranges and strings aside). */
function promqlNames(expr: string): { metrics: string[]; functions: string[] } {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(^|[^a-zA-Z0-9_:])\d+(\.\d+)?([eE][-+]?\d+)?/g, '$1 ');
  const metrics: string[] = [];
  const functions: string[] = [];
  for (const match of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match as unknown as [string, string, string | undefined];
    if (call) functions.push(name);
    else if (!PROMQL_KEYWORDS.has(name)) metrics.push(name);
  }
  return { metrics, functions };
}

let exported: Set<string>;

beforeAll(async () => {
  const config = loadConfig(
    {
      ENVIRONMENT: 'development',
      LOG_CONFIG: join(ROOT, 'config', 'logging.yaml'),
      SERVICE_AUTH_ENABLED: 'false',
      RATE_LIMIT_SMTP: '1/s',
    },
    new Set(['api', 'worker', 'monitor']),
  );
  const figures = { figures: () => Promise.reject(new Error('no Redis in a unit test')) };
  const logger = { setContext: () => undefined, warn: () => undefined } as unknown as AppLogger;
  const metrics = new PrometheusMetrics(config, new EmailEvents(), logger);
  new ClusterGauges(config, metrics, figures as unknown as QueueFiguresService, logger);
  const families = await metrics.registry.getMetricsAsJSON();
  exported = new Set(
    families.flatMap(({ name, type }) =>
      String(type) === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
    ),
  );
  PROMETHEUS_SERIES.forEach((name) => exported.add(name));
});

function expectOnlyExported(expr: string, where: string): void {
  const { metrics, functions } = promqlNames(expr);
  expect({ where, metrics: metrics.filter((m) => !exported.has(m)) }).toEqual({ where, metrics: [] });
  expect({ where, functions: functions.filter((f) => !PROMQL_FUNCTIONS.has(f)) }).toEqual({
    where,
    functions: [],
  });
  expect(metrics.length).toBeGreaterThan(0);
}

const CLUSTER_GAUGES: ReadonlySet<string> = new Set([
  METRIC_NAMES.queueDepth,
  METRIC_NAMES.scheduledEmails,
  METRIC_NAMES.deadLetters,
  METRIC_NAMES.circuitState,
  METRIC_NAMES.rateLimitTokens,
  METRIC_NAMES.pausedWebhooks,
  METRIC_NAMES.clusterFiguresUp,
]);
const AGGREGATIONS: ReadonlySet<string> = new Set(['sum', 'max', 'min', 'avg', 'count', 'topk']);

/**
 * Every cluster-wide gauge sits under max() (as its innermost aggregation): each api and monitor process
 * exports the same figure, so a sum would multiply it by the number of processes.
 */
function expectClusterGaugesUnderMax(expr: string, where: string): void {
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without)\s*\([^)]*\)/g, ' ');
  const stack: string[] = [];
  for (const [token, name, open] of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?|\(|\)/g)) {
    if (token === ')') stack.pop();
    else if (token === '(') stack.push('');
    else if (open) stack.push(name!);
    else if (CLUSTER_GAUGES.has(name!)) {
      const aggregation = [...stack].reverse().find((f) => AGGREGATIONS.has(f));
      expect({ where, gauge: name, aggregation }).toEqual({ where, gauge: name, aggregation: 'max' });
    }
  }
}

describe('promqlNames', () => {
  it('finds the metrics and functions of an expression, not its labels, ranges or numbers', () => {
    expect(
      promqlNames(
        'histogram_quantile(0.95, sum by (route, le) (rate(a_bucket{route=~"/x.*", b="c"}[$__rate_interval]))) > 1e3 and b_total',
      ),
    ).toEqual({ metrics: ['a_bucket', 'b_total'], functions: ['histogram_quantile', 'sum', 'rate'] });
  });

  it('tells a cluster gauge summed across processes from one under max()', () => {
    expect(() =>
      expectClusterGaugesUnderMax(
        'max by (priority) (deriv(freeface_queue_depth{state="w"}[10m])) > 0',
        'ok',
      ),
    ).not.toThrow();
    expect(() => expectClusterGaugesUnderMax('sum by (priority) (freeface_queue_depth)', 'sum')).toThrow();
    expect(() => expectClusterGaugesUnderMax('freeface_dead_letters > 1', 'bare')).toThrow();
  });
});

describe('docker/prometheus/alerts.yml', () => {
  interface Rule {
    alert?: unknown;
    expr?: unknown;
    for?: unknown;
    labels?: { severity?: unknown };
    annotations?: { summary?: unknown };
  }
  const document = parseYaml(read('docker/prometheus/alerts.yml')) as {
    groups: { name: string; rules: Rule[] }[];
  };
  const rules = document.groups.flatMap((group) => group.rules);

  it('is a rules file: named groups of alerts, each with an expression, a severity and a summary', () => {
    expect(document.groups.length).toBeGreaterThan(0);
    for (const group of document.groups) expect(group.name).toEqual(expect.any(String));
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^Freeface[A-Za-z]+$/);
      expect(rule.expr).toEqual(expect.any(String));
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
      expect(['info', 'warning', 'critical']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toEqual(expect.any(String));
    }
    const names = rules.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it('covers queue backlog, dead letters, open circuits, audit write failures and paused webhooks', () => {
    const exprs = rules.map((rule) => String(rule.expr)).join('\n');
    expect(exprs).toMatch(/deriv\(freeface_queue_depth\{state="waiting"\}\[10m\]\)/);
    expect(exprs).toContain(METRIC_NAMES.emailsDeadLettered);
    expect(exprs).toContain(METRIC_NAMES.circuitState);
    expect(exprs).toContain(METRIC_NAMES.auditWriteFailures);
    expect(exprs).toContain(METRIC_NAMES.pausedWebhooks);
  });

  it('uses only metrics the app exports', () => {
    for (const rule of rules) expectOnlyExported(String(rule.expr), String(rule.alert));
  });

  it('aggregates the cluster-wide gauges with max(), never sum()', () => {
    for (const rule of rules) expectClusterGaugesUnderMax(String(rule.expr), String(rule.alert));
  });
});

describe('docker/prometheus/prometheus.yml', () => {
  const document = parseYaml(read('docker/prometheus/prometheus.yml')) as {
    rule_files: string[];
    scrape_configs: {
      job_name: string;
      metrics_path?: string;
      authorization?: { type: string; credentials_file?: string };
      dns_sd_configs?: { names: string[]; port: number }[];
      static_configs?: { targets: string[] }[];
    }[];
  };

  it('loads the alert rules and scrapes the api, every worker replica and the monitor on their ports', () => {
    expect(document.rule_files).toContain('alerts.yml');
    const jobs = Object.fromEntries(document.scrape_configs.map((job) => [job.job_name, job]));
    expect(Object.keys(jobs).sort()).toEqual(['freeface-api', 'freeface-monitor', 'freeface-worker']);
    expect(jobs['freeface-api']!.dns_sd_configs![0]!.port).toBe(3000);
    expect(jobs['freeface-worker']!.dns_sd_configs![0]).toMatchObject({ names: ['worker'], port: 3001 });
    expect(jobs['freeface-monitor']!.static_configs![0]!.targets).toEqual(['monitor:8011']);
    for (const job of document.scrape_configs) {
      expect(job.metrics_path).toBe('/metrics');
      // A token file, never a token written into the configuration.
      expect(job.authorization).toEqual({ type: 'Bearer', credentials_file: expect.any(String) });
    }
  });
});

describe('docker/grafana/freeface-dashboard.json', () => {
  interface Panel {
    id: number;
    type: string;
    title: string;
    targets?: { expr: string }[];
  }
  const dashboard = JSON.parse(read('docker/grafana/freeface-dashboard.json')) as {
    uid: string;
    panels: Panel[];
    templating: { list: { name: string; type: string }[] };
  };
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');

  it('has the panels operators look at first', () => {
    expect(panels.map((panel) => panel.title)).toEqual(
      expect.arrayContaining([
        'Accepted per second by service',
        'Sent per second by service',
        'Failed attempts per second by service',
        'Send latency p50 / p95 by provider',
        'Queue depth by priority',
        'Dead letters',
        'Provider circuits',
        'HTTP p95 by route',
      ]),
    );
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource' }),
    );
  });

  it('queries only metrics the app exports', () => {
    for (const panel of panels) {
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expectOnlyExported(target.expr, panel.title);
        expectClusterGaugesUnderMax(target.expr, panel.title);
      }
    }
  });
});
