import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parsePrometheusText, sampleValue } from '../../test/support/prometheus-text';
import { loadConfig } from '../config/load-config';
import type { Role } from '../config/roles';
import { EmailEvents } from '../events/email-events';
import type { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { ClusterGauges, FiguresSnapshot, registerClusterGauges } from './cluster-gauges';
import type { QueueFigures, QueueFiguresService } from './queue-figures.service';

const counts = (waiting: number) => ({ waiting, active: 1, delayed: 2, completed: 50, failed: 0 });
const FIGURES: QueueFigures = {
  queues: { high: counts(3), medium: counts(7), low: counts(0) },
  scheduled: 4,
  deadLetters: 2,
  providers: {
    smtp: {
      inChain: true,
      circuit: { state: 'open', consecutiveFailures: 0, openUntil: null, timesOpened: 1 },
      rateLimit: { limit: '10/s', burst: 10, tokens: 7.5 },
    },
    ses: {
      inChain: true,
      circuit: { state: 'half-open', consecutiveFailures: 0, openUntil: null, timesOpened: 2 },
      rateLimit: null,
    },
  },
  pausedWebhooks: 3,
};

function setUp(read: () => Promise<QueueFigures>, timeoutMs?: number) {
  const registry = new Registry();
  const errors: unknown[] = [];
  registerClusterGauges(registry, new FiguresSnapshot(read, (e) => errors.push(e), timeoutMs));
  return { scrape: async () => parsePrometheusText(await registry.metrics()), errors };
}

describe('cluster gauges', () => {
  it('exports queue depth per priority and state, schedules, dead letters, circuits, tokens and paused webhooks', async () => {
    const metrics = await setUp(() => Promise.resolve(FIGURES)).scrape();
    expect(sampleValue(metrics, 'freeface_queue_depth', { priority: 'medium', state: 'waiting' })).toBe(7);
    expect(sampleValue(metrics, 'freeface_queue_depth', { priority: 'high', state: 'delayed' })).toBe(2);
    expect(metrics.get('freeface_queue_depth')!.samples).toHaveLength(9);
    expect(sampleValue(metrics, 'freeface_scheduled_emails')).toBe(4);
    expect(sampleValue(metrics, 'freeface_dead_letters')).toBe(2);
    expect(sampleValue(metrics, 'freeface_provider_circuit_state', { provider: 'smtp' })).toBe(2);
    expect(sampleValue(metrics, 'freeface_provider_circuit_state', { provider: 'ses' })).toBe(1);
    expect(sampleValue(metrics, 'freeface_rate_limit_tokens', { provider: 'smtp' })).toBe(7.5);
    expect(sampleValue(metrics, 'freeface_rate_limit_tokens', { provider: 'ses' })).toBeUndefined();
    expect(sampleValue(metrics, 'freeface_webhooks_paused')).toBe(3);
    expect(sampleValue(metrics, 'freeface_cluster_figures_up')).toBe(1);
  });

  it('reads the figures once per scrape, and afresh for the next one', async () => {
    const read = jest.fn(() => Promise.resolve(FIGURES));
    const { scrape } = setUp(read);
    await scrape();
    expect(read).toHaveBeenCalledTimes(1);
    await scrape();
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('leaves the gauges out, rather than showing zeros, when Redis does not answer', async () => {
    const { scrape, errors } = setUp(() => Promise.reject(new Error('Connection is closed.')));
    const metrics = await scrape();
    for (const name of [
      'freeface_queue_depth',
      'freeface_scheduled_emails',
      'freeface_dead_letters',
      'freeface_webhooks_paused',
    ])
      expect(metrics.get(name)!.samples).toEqual([]);
    expect(sampleValue(metrics, 'freeface_cluster_figures_up')).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it('gives up on a read that takes too long, so the scrape still answers', async () => {
    const { scrape } = setUp(() => new Promise<QueueFigures>(() => undefined), 20);
    const metrics = await scrape();
    expect(sampleValue(metrics, 'freeface_cluster_figures_up')).toBe(0);
    expect(metrics.get('freeface_dead_letters')!.samples).toEqual([]);
  });

  it('shows the figures again once Redis is back', async () => {
    let fail = true;
    const { scrape } = setUp(() => (fail ? Promise.reject(new Error('down')) : Promise.resolve(FIGURES)));
    await scrape();
    fail = false;
    expect(sampleValue(await scrape(), 'freeface_dead_letters')).toBe(2);
  });
});

describe('ClusterGauges', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cluster-gauges-spec-'));
    writeFileSync(join(dir, 'logging.yaml'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const logger = { setContext: jest.fn(), warn: jest.fn() } as unknown as AppLogger;
  const figures = { figures: () => Promise.reject(new Error('down')) } as unknown as QueueFiguresService;
  async function exported(roles: Role[]): Promise<Set<string>> {
    const config = loadConfig(
      { ENVIRONMENT: 'development', LOG_CONFIG: join(dir, 'logging.yaml'), SERVICE_AUTH_ENABLED: 'false' },
      new Set(roles),
    );
    const metrics = new PrometheusMetrics(config, new EmailEvents(), logger);
    new ClusterGauges(config, metrics, figures, logger);
    return new Set(parsePrometheusText((await metrics.exposition()).body).keys());
  }

  it('exports the cluster figures from api and monitor processes only', async () => {
    for (const roles of [['api'], ['monitor'], ['worker', 'monitor']] as Role[][])
      expect(await exported(roles)).toContain('freeface_queue_depth');
    const worker = await exported(['worker']);
    expect(worker).not.toContain('freeface_queue_depth');
    expect(worker).not.toContain('freeface_cluster_figures_up');
  });
});
