import { Injectable } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { Throttle } from '../common/throttle';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { QueueFiguresService, type QueueFigures } from './queue-figures.service';
import { METRIC_NAMES } from '../metrics/prometheus/metric-names';
import { PRIORITIES } from '../queue/queue-names';

/** The queue states exported per priority (finished jobs are trimmed, so their counts mean little). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed'] as const;
/** A scrape must answer even when Redis does not: past this, the cluster gauges are left out. */
export const FIGURES_TIMEOUT_MS = 2000;
const CIRCUIT_STATES = { closed: 0, 'half-open': 1, open: 2 } as const;

export type FiguresSource = () => Promise<QueueFigures>;

/**
 * The figures of one scrape: the gauges of a scrape are collected together, so the first to ask starts the
 * read and the others share it while it runs (one Redis round trip per scrape; the next scrape reads afresh).
 * A failed or late read (Redis down) gives `undefined`: the gauges then export no sample, not a made-up zero.
 */
export class FiguresSnapshot {
  private pending?: Promise<QueueFigures | undefined>;

  constructor(
    private readonly read: FiguresSource,
    private readonly onError: (error: unknown) => void,
    private readonly timeoutMs = FIGURES_TIMEOUT_MS,
  ) {}

  get(): Promise<QueueFigures | undefined> {
    this.pending ??= this.readWithTimeout().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async readWithTimeout(): Promise<QueueFigures | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([this.read(), timeout]);
    } catch (error) {
      this.onError(error);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

interface Sample<L extends string> {
  labels: Partial<Record<L, string>>;
  value: number;
}

/**
 * A gauge read at scrape time from the cluster figures. When they cannot be read it exports no sample at all
 * (prom-client would otherwise show a label-less gauge as 0, which reads as "no backlog" during an outage).
 */
class ClusterGauge<L extends string> extends Gauge<L> {
  constructor(
    config: { name: string; help: string; labelNames?: readonly L[]; registers: Registry[] },
    private readonly snapshot: FiguresSnapshot,
    private readonly samples: (figures: QueueFigures) => Sample<L>[],
  ) {
    super(config);
  }

  override async get() {
    const figures = await this.snapshot.get();
    this.reset();
    if (figures) for (const { labels, value } of this.samples(figures)) this.set(labels, value);
    const metric = await super.get();
    return figures ? metric : { ...metric, values: [] };
  }
}

/**
 * Registers the gauges of cluster-wide figures: queue depth per priority and state, scheduled emails, dead
 * letters, each provider's circuit (0 closed, 1 half-open, 2 open) and rate-limit tokens, paused webhook
 * endpoints, and whether the figures could be read at all. They are the same from every process that reads
 * them: use max(), not sum().
 */
export function registerClusterGauges(registry: Registry, snapshot: FiguresSnapshot): void {
  const registers = [registry];
  new ClusterGauge(
    {
      name: METRIC_NAMES.queueDepth,
      help: 'Email jobs per priority queue and state (cluster-wide, read from Redis at scrape time)',
      labelNames: ['priority', 'state'],
      registers,
    },
    snapshot,
    (f) =>
      PRIORITIES.flatMap((priority) =>
        QUEUE_STATES.map((state) => ({ labels: { priority, state }, value: f.queues[priority][state] })),
      ),
  );
  new ClusterGauge(
    { name: METRIC_NAMES.scheduledEmails, help: 'Emails scheduled for later (cluster-wide)', registers },
    snapshot,
    (f) => [{ labels: {}, value: f.scheduled }],
  );
  new ClusterGauge(
    { name: METRIC_NAMES.deadLetters, help: 'Emails in the dead-letter list (cluster-wide)', registers },
    snapshot,
    (f) => [{ labels: {}, value: f.deadLetters }],
  );
  new ClusterGauge(
    {
      name: METRIC_NAMES.circuitState,
      help: "A provider's circuit breaker: 0 closed, 1 half-open (a trial send may pass), 2 open",
      labelNames: ['provider'],
      registers,
    },
    snapshot,
    (f) =>
      Object.entries(f.providers).map(([provider, figures]) => ({
        labels: { provider },
        value: CIRCUIT_STATES[figures.circuit.state],
      })),
  );
  new ClusterGauge(
    {
      name: METRIC_NAMES.rateLimitTokens,
      help: "Tokens left in a provider's rate-limit bucket (negative while emails wait in line for it)",
      labelNames: ['provider'],
      registers,
    },
    snapshot,
    (f) =>
      Object.entries(f.providers).flatMap(([provider, figures]) =>
        figures.rateLimit ? [{ labels: { provider }, value: figures.rateLimit.tokens }] : [],
      ),
  );
  new ClusterGauge(
    {
      name: METRIC_NAMES.pausedWebhooks,
      help: 'Webhook endpoints paused because they kept timing out, until resumed (cluster-wide)',
      registers,
    },
    snapshot,
    (f) => [{ labels: {}, value: f.pausedWebhooks }],
  );
  new Gauge({
    name: METRIC_NAMES.clusterFiguresUp,
    help: 'Whether this scrape could read the cluster-wide figures from Redis (1) or not (0)',
    registers,
    async collect() {
      this.set((await snapshot.get()) ? 1 : 0);
    },
  });
}

/** Whether a process exports the cluster-wide figures (queue depths, circuits): the api and the monitor do. */
export const exportsClusterFigures = (config: AppConfig): boolean =>
  config.roles.has('api') || config.roles.has('monitor');

/** How often a scrape without figures is logged: once a minute says it, a scrape every few seconds would flood. */
const UNAVAILABLE_LOG_INTERVAL_MS = 60_000;

/** Puts the cluster gauges into this process's registry (api and monitor), read through QueueFiguresService. */
@Injectable()
export class ClusterGauges {
  private readonly unavailableLog = new Throttle(UNAVAILABLE_LOG_INTERVAL_MS);

  constructor(
    config: AppConfig,
    metrics: PrometheusMetrics,
    figures: QueueFiguresService,
    logger: AppLogger,
  ) {
    logger.setContext('metrics');
    if (!exportsClusterFigures(config)) return;
    const snapshot = new FiguresSnapshot(
      () => figures.figures(),
      (error) => {
        if (!this.unavailableLog.allows()) return;
        const reason = error instanceof Error ? error.message : String(error);
        logger.warn({ reason }, 'cluster figures unavailable: queue gauges left out of this scrape');
      },
    );
    registerClusterGauges(metrics.registry, snapshot);
  }
}
