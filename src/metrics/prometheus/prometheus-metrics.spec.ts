import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrometheusText, sampleValue } from '../../../test/support/prometheus-text';
import { generateToken } from '../../common/token-format';
import { loadConfig } from '../../config/load-config';
import type { Role } from '../../config/roles';
import { EmailEvents } from '../../events/email-events';
import type { AppLogger } from '../../logging/app-logger';
import { PrometheusMetrics } from './prometheus-metrics';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'prometheus-metrics-spec-'));
  writeFileSync(join(dir, 'logging.yaml'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tokens = { billing: generateToken('dev'), signup: generateToken('dev') };
const logger = { setContext: jest.fn(), warn: jest.fn() } as unknown as AppLogger;

function setUp(roles: Role[]) {
  const config = loadConfig(
    {
      ENVIRONMENT: 'development',
      LOG_CONFIG: join(dir, 'logging.yaml'),
      SERVICE_TOKEN_BILLING_PRIMARY: tokens.billing,
      SERVICE_TOKEN_SIGN_UP_PRIMARY: tokens.signup,
      RATE_LIMIT_SMTP: '10/s',
    },
    new Set(roles),
  );
  const events = new EmailEvents();
  const metrics = new PrometheusMetrics(config, events, logger);
  const scrape = async () => {
    const { contentType, body } = await metrics.exposition();
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    return { families: parsePrometheusText(body), body };
  };
  return { metrics, events, scrape };
}

describe('PrometheusMetrics', () => {
  it('counts accepted, sent, failed and dead-lettered emails by service, provider and priority', async () => {
    const { events, scrape } = setUp(['api', 'worker']);
    const email = { emailId: 'e1', service: 'billing', priority: 'high' };
    events.emit({ ...email, event: 'accepted' });
    events.emit({ ...email, event: 'attempt', provider: 'smtp' });
    events.emit({ ...email, event: 'failed', provider: 'smtp', latencyMs: 30_000 });
    events.emit({ ...email, event: 'sent', provider: 'sendgrid', latencyMs: 120 });
    events.emit({
      ...email,
      service: 'sign-up',
      priority: 'low',
      event: 'failed',
      provider: 'ses',
      latencyMs: 5,
    });
    events.emit({ ...email, service: 'sign-up', priority: 'low', event: 'dead_lettered', provider: 'ses' });
    events.emit({ ...email, event: 'replayed' });

    const { families } = await scrape();
    expect(
      sampleValue(families, 'freeface_emails_accepted_total', { service: 'billing', priority: 'high' }),
    ).toBe(1);
    // Every configured service starts at zero, so that rate() sees its first email.
    expect(
      sampleValue(families, 'freeface_emails_accepted_total', { service: 'sign-up', priority: 'low' }),
    ).toBe(0);
    const by = (service: string, provider: string, priority: string) => ({ service, provider, priority });
    expect(sampleValue(families, 'freeface_emails_sent_total', by('billing', 'sendgrid', 'high'))).toBe(1);
    expect(sampleValue(families, 'freeface_emails_failed_total', by('billing', 'smtp', 'high'))).toBe(1);
    expect(sampleValue(families, 'freeface_emails_failed_total', by('sign-up', 'ses', 'low'))).toBe(1);
    expect(sampleValue(families, 'freeface_emails_dead_lettered_total', by('sign-up', 'ses', 'low'))).toBe(1);
    const duration = (provider: string, outcome: string, le: string) =>
      sampleValue(families, 'freeface_send_duration_seconds_bucket', { provider, outcome, le });
    expect(duration('sendgrid', 'sent', '0.1')).toBe(0);
    expect(duration('sendgrid', 'sent', '0.25')).toBe(1);
    expect(duration('smtp', 'failed', '20')).toBe(0);
    expect(duration('smtp', 'failed', '30')).toBe(1);
    expect(
      sampleValue(families, 'freeface_send_duration_seconds_sum', { provider: 'ses', outcome: 'failed' }),
    ).toBe(0.005);
  });

  it("counts suppressed recipients (whole emails apart) and the providers' delivery reports", async () => {
    const { events, scrape } = setUp(['api', 'worker']);
    const email = { emailId: 'e1', service: 'billing', priority: 'medium' };
    events.emit({
      ...email,
      event: 'suppressed',
      detail: { recipients: 2, remaining: 1, reasons: ['manual'] },
    });
    events.emit({
      ...email,
      event: 'suppressed',
      detail: { recipients: 1, remaining: 0, reasons: ['complaint'] },
    });
    events.emit({ ...email, event: 'delivered', provider: 'mailgun' });
    events.emit({ ...email, event: 'bounced', provider: 'mailgun' });
    events.emit({ ...email, event: 'bounced', provider: 'mailgun' });

    const { families } = await scrape();
    const suppressed = (outcome: string) =>
      sampleValue(families, 'freeface_suppressed_recipients_total', { service: 'billing', outcome });
    expect(suppressed('recipient')).toBe(2);
    expect(suppressed('email')).toBe(1);
    const reported = (kind: string) =>
      sampleValue(families, 'freeface_provider_events_total', { provider: 'mailgun', kind });
    expect(reported('delivered')).toBe(1);
    expect(reported('bounced')).toBe(2);
  });

  it('keeps label values bounded: unknown providers, priorities and odd service names become "other"', async () => {
    const { events, scrape } = setUp(['worker']);
    events.emit({
      event: 'sent',
      emailId: 'e',
      service: 'Not A Name',
      priority: 'urgent',
      provider: 'pigeon',
    });
    const { families } = await scrape();
    expect(
      sampleValue(families, 'freeface_emails_sent_total', {
        service: 'other',
        provider: 'other',
        priority: 'other',
      }),
    ).toBe(1);
  });

  it('counts rate-limit waits per provider, starting at zero for the rate-limited ones', async () => {
    const { metrics, scrape } = setUp(['worker']);
    expect(
      sampleValue((await scrape()).families, 'freeface_rate_limit_waits_total', { provider: 'smtp' }),
    ).toBe(0);
    metrics.recordRateLimitWait('smtp');
    metrics.recordRateLimitWait('smtp');
    expect(
      sampleValue((await scrape()).families, 'freeface_rate_limit_waits_total', { provider: 'smtp' }),
    ).toBe(2);
  });

  it('times HTTP requests by method, route pattern and status', async () => {
    const { metrics, scrape } = setUp(['api']);
    metrics.observeHttpRequest('GET', '/api/v1/emails/:id', 200, 0.004);
    metrics.observeHttpRequest('GET', '/api/v1/emails/:id', 404, 0.002);
    metrics.observeHttpRequest('GET', undefined, 404, 0.001);
    metrics.observeHttpRequest('BREW', undefined, 400, 0.001);
    const { families } = await scrape();
    const count = (method: string, route: string, status_code: string) =>
      sampleValue(families, 'freeface_http_request_duration_seconds_count', { method, route, status_code });
    expect(count('GET', '/api/v1/emails/:id', '200')).toBe(1);
    expect(count('GET', '/api/v1/emails/:id', '404')).toBe(1);
    expect(count('GET', 'unmatched', '404')).toBe(1);
    expect(count('other', 'unmatched', '400')).toBe(1);
  });

  it("follows the audit writer's failed writes", async () => {
    const writer = { failedWrites: 0 };
    const { metrics, scrape } = setUp(['worker']);
    metrics.followAuditFailures(() => writer.failedWrites);
    expect(sampleValue((await scrape()).families, 'freeface_audit_write_failures_total')).toBe(0);
    writer.failedWrites = 7;
    expect(sampleValue((await scrape()).families, 'freeface_audit_write_failures_total')).toBe(7);
    expect(sampleValue((await scrape()).families, 'freeface_audit_write_failures_total')).toBe(7);
  });

  it('exports the process metrics, from a registry of its own', async () => {
    const { families } = await setUp(['worker']).scrape();
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
    const { register } = await import('prom-client');
    expect(register.getMetricsAsArray()).toEqual([]);
  });

  it('never puts a token in the metrics', async () => {
    const { events, scrape } = setUp(['api', 'worker']);
    events.emit({ event: 'accepted', emailId: 'e', service: tokens.billing, priority: 'low' });
    const { body } = await scrape();
    for (const token of Object.values(tokens)) expect(body).not.toContain(token);
  });
});
