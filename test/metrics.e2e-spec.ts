import { generateToken } from '../src/common/token-format';
import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { freePort, waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import {
  ExpositionError,
  parsePrometheusText,
  sampleValue,
  type MetricFamily,
} from './support/prometheus-text';
import { SmtpSink } from './support/smtp-sink';
import { startMonitor } from './support/dashboard';

const SEND_ONLY = generateToken('dev');
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

async function scrape(
  port: number,
  token?: string,
): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    text: await response.text(),
  };
}

async function metricsOf(port: number, token?: string): Promise<Map<string, MetricFamily>> {
  const { status, contentType, text } = await scrape(port, token);
  expect(status).toBe(200);
  expect(contentType).toBe(PROMETHEUS_TEXT);
  return parsePrometheusText(text);
}

describe('the strict exposition reader used below', () => {
  it('refuses what Prometheus would refuse', () => {
    const valid = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n';
    expect(sampleValue(parsePrometheusText(valid), 'a_total', { x: '1' })).toBe(3);
    for (const garbage of [
      '<html>not metrics</html>\n',
      '# TYPE a counter\na{x=1} 3\n',
      '# TYPE a counter\na{x="1"} three\n',
      '# TYPE a counter\na 1\na 2\n',
      '# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na 2\n',
      'a 1\n',
      '# TYPE a counter\na 1',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    ]) {
      expect(() => parsePrometheusText(garbage)).toThrow(ExpositionError);
    }
  });
});

/** api + worker processes on one Redis: each process serves its own figures at its own port. */
describe('Prometheus metrics (api + worker processes)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let monitor: AppProcess;
  let billing: ReturnType<typeof client>;
  let signup: ReturnType<typeof client>;
  const ids: string[] = [];

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    const env = {
      ...baseEnv(redis, sink),
      SERVICE_TOKEN_SENDER_PRIMARY: SEND_ONLY,
      SERVICE_TOKEN_SENDER_SCOPES: 'send',
      // One token at a time, 20 a second: emails sent together wait in line for the bucket.
      RATE_LIMIT_SMTP: '20/s',
      RATE_LIMIT_SMTP_BURST: '1',
    };
    [api, worker, monitor] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
      startMonitor({ ...env, DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'dashboard-pass' }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    signup = client(api.baseUrl, TOKENS.signup);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop(), monitor?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  async function waitForStatus(id: string, status: string): Promise<void> {
    await waitUntil(
      async () => (await billing.get(`/api/v1/emails/${id}`, {})).body.status === status,
      15_000,
      `email ${id} to be ${status}`,
    );
  }

  it('counts emails by service and priority, sent by provider on the worker', async () => {
    const email = (priority: string) => ({ to: ['ana@example.com'], subject: 'Hi', text: 'Hello', priority });
    const accepted = await Promise.all([
      billing.post('/api/v1/emails', email('medium')),
      billing.post('/api/v1/emails', email('medium')),
      billing.post('/api/v1/emails', email('high')),
      signup.post('/api/v1/emails', email('low')),
      signup.post('/api/v1/emails', email('low')),
    ]);
    accepted.forEach((r) => expect(r.status).toBe(202));
    ids.push(...accepted.map((r) => r.body.id as string));
    // An admin may read every email; polling through it also puts GET /api/v1/emails/:id in the histogram.
    const ops = client(api.baseUrl, TOKENS.ops);
    for (const id of ids)
      await waitUntil(
        async () => (await ops.get(`/api/v1/emails/${id}`)).body.status === 'sent',
        15_000,
        `email ${id} to be sent`,
      );

    const apiMetrics = await metricsOf(api.port, TOKENS.reports);
    const accepted_ = (service: string, priority: string) =>
      sampleValue(apiMetrics, 'freeface_emails_accepted_total', { service, priority });
    expect(accepted_('billing', 'medium')).toBe(2);
    expect(accepted_('billing', 'high')).toBe(1);
    expect(accepted_('billing', 'low')).toBe(0);
    expect(accepted_('sign-up', 'low')).toBe(2);
    expect(apiMetrics.get('freeface_emails_accepted_total')!.type).toBe('counter');

    const workerMetrics = await metricsOf(worker.healthPort, TOKENS.reports);
    const sent = (service: string, priority: string) =>
      sampleValue(workerMetrics, 'freeface_emails_sent_total', { service, provider: 'smtp', priority });
    expect(sent('billing', 'medium')).toBe(2);
    expect(sent('billing', 'high')).toBe(1);
    expect(sent('sign-up', 'low')).toBe(2);
    expect(
      sampleValue(workerMetrics, 'freeface_send_duration_seconds_count', {
        provider: 'smtp',
        outcome: 'sent',
      }),
    ).toBe(5);
    expect(apiMetrics.get('freeface_send_duration_seconds')!.type).toBe('histogram');
    // Five emails for one token at a time: some had to wait their turn.
    expect(
      sampleValue(workerMetrics, 'freeface_rate_limit_waits_total', { provider: 'smtp' }),
    ).toBeGreaterThan(0);
    expect(sampleValue(workerMetrics, 'freeface_audit_write_failures_total')).toBe(0);
    // Node's process metrics, from each process's own registry.
    for (const metrics of [apiMetrics, workerMetrics]) {
      expect(sampleValue(metrics, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(sampleValue(metrics, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    }
  });

  it('counts a permanent failure as failed and dead-lettered, and shows it in the dead-letter gauge', async () => {
    sink.reply = () => ({ code: 550, message: 'mailbox unavailable' });
    try {
      const accepted = await billing.post('/api/v1/emails', {
        to: ['nobody@example.com'],
        subject: 'Bounce',
        text: 'x',
        priority: 'low',
      });
      await waitForStatus(accepted.body.id as string, 'dead');
    } finally {
      sink.reply = () => undefined;
    }
    const labels = { service: 'billing', provider: 'smtp', priority: 'low' };
    const workerMetrics = await metricsOf(worker.healthPort, TOKENS.reports);
    expect(sampleValue(workerMetrics, 'freeface_emails_failed_total', labels)).toBe(1);
    expect(sampleValue(workerMetrics, 'freeface_emails_dead_lettered_total', labels)).toBe(1);
    expect(
      sampleValue(workerMetrics, 'freeface_send_duration_seconds_count', {
        provider: 'smtp',
        outcome: 'failed',
      }),
    ).toBe(1);
    const apiMetrics = await metricsOf(api.port, TOKENS.reports);
    expect(sampleValue(apiMetrics, 'freeface_dead_letters')).toBe(1);
  });

  it('exports the cluster-wide queue figures from the api, not from the worker', async () => {
    const later = new Date(Date.now() + 86_400_000).toISOString();
    expect(
      (
        await billing.post('/api/v1/emails', {
          to: ['a@example.com'],
          subject: 'Later',
          text: 'x',
          sendAt: later,
        })
      ).status,
    ).toBe(202);
    const apiMetrics = await metricsOf(api.port, TOKENS.reports);
    for (const priority of ['high', 'medium', 'low']) {
      for (const state of ['waiting', 'active', 'delayed']) {
        expect(sampleValue(apiMetrics, 'freeface_queue_depth', { priority, state })).toEqual(
          expect.any(Number),
        );
      }
    }
    expect(sampleValue(apiMetrics, 'freeface_queue_depth', { priority: 'medium', state: 'delayed' })).toBe(1);
    expect(sampleValue(apiMetrics, 'freeface_scheduled_emails')).toBe(1);
    expect(sampleValue(apiMetrics, 'freeface_provider_circuit_state', { provider: 'smtp' })).toBe(0);
    expect(sampleValue(apiMetrics, 'freeface_rate_limit_tokens', { provider: 'smtp' })).toEqual(
      expect.any(Number),
    );
    expect(sampleValue(apiMetrics, 'freeface_cluster_figures_up')).toBe(1);

    const workerMetrics = await metricsOf(worker.healthPort, TOKENS.reports);
    expect(workerMetrics.has('freeface_queue_depth')).toBe(false);
    expect(workerMetrics.has('freeface_dead_letters')).toBe(false);

    // The monitor exports the same cluster figures, next to its own process metrics.
    const monitorMetrics = await metricsOf(monitor.healthPort, TOKENS.reports);
    expect(sampleValue(monitorMetrics, 'freeface_scheduled_emails')).toBe(1);
    expect(sampleValue(monitorMetrics, 'freeface_cluster_figures_up')).toBe(1);
    expect(monitorMetrics.has('process_resident_memory_bytes')).toBe(true);
  });

  it("serves the monitor's /metrics to a token, not to the dashboard's basic auth", async () => {
    expect((await scrape(monitor.healthPort)).status).toBe(401);
    const basic = await fetch(`http://127.0.0.1:${monitor.healthPort}/metrics`, {
      headers: { authorization: `Basic ${Buffer.from('ops:dashboard-pass').toString('base64')}` },
    });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('content-type')).toContain('application/problem+json');
    expect((await scrape(monitor.healthPort, TOKENS.reports)).status).toBe(200);
  });

  it('times HTTP requests by route pattern, never by raw URL', async () => {
    const id = ids[0]!;
    await billing.get(`/api/v1/emails/${id}`);
    await billing.get('/api/v1/emails/0193c1f0-0000-7000-8000-000000000000');
    await fetch(`${api.baseUrl}/no/such/path/${id}`);
    const { text } = await scrape(api.port, TOKENS.reports);
    const metrics = parsePrometheusText(text);
    const count = (labels: Record<string, string>) =>
      sampleValue(metrics, 'freeface_http_request_duration_seconds_count', labels);
    expect(count({ method: 'POST', route: '/api/v1/emails', status_code: '202' })).toBe(7);
    expect(count({ method: 'GET', route: '/api/v1/emails/:id', status_code: '200' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(count({ method: 'GET', route: '/api/v1/emails/:id', status_code: '404' })).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(text).not.toContain(id);
    expect(text).not.toContain('/no/such/path');
  });

  it('never shows a token in the metrics', async () => {
    for (const port of [api.port, worker.healthPort]) {
      const { text } = await scrape(port, TOKENS.reports);
      for (const token of [...Object.values(TOKENS), SEND_ONLY]) expect(text).not.toContain(token);
      expect(text).not.toMatch(/st_(dev|live)_[0-9A-Za-z]{10,}/);
    }
  });

  it('asks for a token with the read scope on the api and on the worker port', async () => {
    for (const port of [api.port, worker.healthPort]) {
      const missing = await scrape(port);
      expect(missing.status).toBe(401);
      expect(missing.contentType).toContain('application/problem+json');
      expect(JSON.parse(missing.text)).toMatchObject({
        type: 'urn:freeface:problem:unauthorized',
        status: 401,
      });

      const unknown = await scrape(port, generateToken('dev'));
      expect(unknown.status).toBe(401);

      const sendOnly = await scrape(port, SEND_ONLY);
      expect(sendOnly.status).toBe(403);
      expect(JSON.parse(sendOnly.text)).toMatchObject({ type: 'urn:freeface:problem:forbidden' });
    }
    const viaServiceTokenHeader = await fetch(`http://127.0.0.1:${worker.healthPort}/metrics`, {
      headers: { 'x-service-token': TOKENS.ops },
    });
    expect(viaServiceTokenHeader.status).toBe(200);
  });

  it('keeps serving process metrics while Redis is down, without the cluster gauges', async () => {
    await redis.pause();
    try {
      const started = Date.now();
      const metrics = await metricsOf(api.port, TOKENS.reports);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(sampleValue(metrics, 'freeface_cluster_figures_up')).toBe(0);
      expect(metrics.get('freeface_queue_depth')!.samples).toEqual([]);
      expect(metrics.get('freeface_dead_letters')!.samples).toEqual([]);
      expect(sampleValue(metrics, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(
        sampleValue(metrics, 'freeface_emails_accepted_total', { service: 'billing', priority: 'high' }),
      ).toBe(1);
    } finally {
      await redis.resume();
    }
  });
});

describe('Prometheus metrics with METRICS_AUTH=false', () => {
  let redis: PrivateRedis;
  let app: AppProcess;
  let workerPort: number;

  beforeAll(async () => {
    [redis, workerPort] = await Promise.all([PrivateRedis.start(), freePort()]);
    app = await AppProcess.start({
      role: 'api,worker',
      env: { ...baseEnv(redis), METRICS_AUTH: 'false', WORKER_HEALTH_PORT: String(workerPort) },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
  });

  it('serves /metrics without a token on the api and the worker port', async () => {
    const fromApi = await metricsOf(app.port);
    expect(sampleValue(fromApi, 'freeface_cluster_figures_up')).toBe(1);
    const fromWorkerPort = await metricsOf(workerPort);
    expect(fromWorkerPort.has('freeface_emails_sent_total')).toBe(true);
  });
});
