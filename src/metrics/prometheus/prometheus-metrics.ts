import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { INTERRUPTED_STATUSES, UNFINISHED_STATUSES } from '../../common/email-status';
import { AppConfig } from '../../config/app-config';
import { AUTH_ENTRY_ROLES, type AuthEntry } from '../../config/roles';
import { EmailEvents, type EmailEvent, type EmailEventListener } from '../../events/email-events';
import { AppLogger } from '../../logging/app-logger';
import { PRIORITIES } from '../../queue/queue-names';
import { methodLabel, priorityLabel, providerLabel, routeLabel, ServiceLabels } from './label-values';
import { METRIC_NAMES } from './metric-names';

/** Email APIs answer in tens of milliseconds to seconds; SMTP through a slow relay, or a timeout, takes longer. */
export const SEND_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30];
/** The API answers in milliseconds; a large batch or group takes up to seconds. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type EmailLabels = 'service' | 'provider' | 'priority';

/**
 * This process's Prometheus metrics, in a registry of our own (never prom-client's global one): Node's process
 * metrics, email counters from the event bus, send and HTTP latency, rate-limit waits, audit write failures,
 * and (api and monitor processes, registered by ClusterGauges) the cluster-wide queue figures read from Redis
 * at scrape time.
 * Recording is a counter or histogram update in memory; nothing here does I/O outside a scrape.
 */
@Injectable()
export class PrometheusMetrics implements EmailEventListener {
  readonly registry = new Registry();
  private readonly services: ServiceLabels;
  /** The process's audit writer once looked up (null: it has none). */
  /** A process without the audit writer has no audit failures to count. */
  private readAuditFailures: () => number = () => 0;

  private readonly accepted: Counter<'service' | 'priority'>;
  private readonly sent: Counter<EmailLabels>;
  private readonly failed: Counter<EmailLabels>;
  private readonly deadLettered: Counter<EmailLabels>;
  private readonly suppressedRecipients: Counter<'service' | 'outcome'>;
  private readonly providerEvents: Counter<'provider' | 'kind'>;
  private readonly callbacksRejected: Counter<'provider' | 'reason'>;
  private readonly webhookAttempts: Counter<'outcome'>;
  private readonly webhookPauses: Counter<'service'>;
  private readonly smtpSessions: Counter<'outcome'>;
  private readonly smtpMessages: Counter<'outcome'>;
  private readonly authFailures: Counter<'via' | 'outcome'>;
  private readonly sendDuration: Histogram<'provider' | 'outcome'>;
  private readonly rateLimitWaits: Counter<'provider'>;
  private readonly reconcilerRepairs: Counter<'status' | 'action'>;
  private readonly reconcilerSweeps: Counter;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(
    config: AppConfig,
    private readonly events: EmailEvents,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('metrics');
    this.events.subscribe(this);
    if (config.metrics.requireAuth && config.auth.enabled && config.auth.services.length === 0) {
      this.logger.warn(
        'no SERVICE_TOKEN_<NAME>_PRIMARY is configured in this process, so /metrics refuses every scrape: ' +
          "configure the scraper's token (scope read) here too, or set METRICS_AUTH=false",
      );
    }
    const registers = [this.registry];
    const configured = config.auth.services.map((s) => s.service);
    this.services = new ServiceLabels(configured);
    collectDefaultMetrics({ register: this.registry });

    this.accepted = new Counter({
      name: METRIC_NAMES.emailsAccepted,
      help: 'Emails accepted by the API (202), by calling service and priority',
      labelNames: ['service', 'priority'],
      registers,
    });
    const emailCounter = (name: string, help: string) =>
      new Counter<EmailLabels>({ name, help, labelNames: ['service', 'provider', 'priority'], registers });
    this.sent = emailCounter(METRIC_NAMES.emailsSent, 'Emails a provider accepted');
    this.failed = emailCounter(
      METRIC_NAMES.emailsFailed,
      'Failed delivery attempts (retried or not; a permanent failure or the last attempt is also dead-lettered)',
    );
    this.deadLettered = emailCounter(
      METRIC_NAMES.emailsDeadLettered,
      'Emails that gave up (permanent failure or attempts exhausted) and joined the dead letters',
    );
    this.suppressedRecipients = new Counter({
      name: METRIC_NAMES.suppressedRecipients,
      help:
        'Recipients left out at delivery because they are on the suppression list; outcome "email" when ' +
        'no recipient was left, so the email was not sent, else "recipient"',
      labelNames: ['service', 'outcome'],
      registers,
    });
    this.providerEvents = new Counter({
      name: METRIC_NAMES.providerEvents,
      help: "Providers' reports applied to emails: delivered, bounced (hard) or complained",
      labelNames: ['provider', 'kind'],
      registers,
    });
    this.callbacksRejected = new Counter({
      name: METRIC_NAMES.callbacksRejected,
      help:
        'Provider callbacks (or events in them) that changed nothing: reason "replayed" (a Mailgun token used ' +
        'before), "foreign_recipient" (an event about an address that is not a recipient of its email) or ' +
        '"rate_limited" (over PROVIDER_CALLBACK_RATE_LIMIT: the provider retries later)',
      labelNames: ['provider', 'reason'],
      registers,
    });
    this.webhookAttempts = new Counter({
      name: METRIC_NAMES.webhookDeliveries,
      help:
        'Webhook delivery attempts: outcome "ok" (2xx), "failed" (will be retried) or "dead" (no retries ' +
        'left: the delivery is failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.webhookPauses = new Counter({
      name: METRIC_NAMES.webhookPauses,
      help: "Webhook endpoints paused because they kept timing out, by the webhook's service",
      labelNames: ['service'],
      registers,
    });
    this.smtpSessions = new Counter({
      name: METRIC_NAMES.smtpSessions,
      help: 'SMTP ingress connections ("opened") and failed logins ("auth_failed")',
      labelNames: ['outcome'],
      registers,
    });
    this.smtpMessages = new Counter({
      name: METRIC_NAMES.smtpMessages,
      help: 'Messages given to the SMTP ingress: "accepted" (queued, 250) or "refused" (any 4xx or 5xx to DATA)',
      labelNames: ['outcome'],
      registers,
    });
    this.authFailures = new Counter({
      name: METRIC_NAMES.authFailures,
      help:
        'Failed authentications by where they were made (via "api", "smtp" or "dashboard"): outcome ' +
        '"counted" (refused as wrong: 401, 535) or "refused" (the client address is past AUTH_FAILURE_LIMIT: 429, 421)',
      labelNames: ['via', 'outcome'],
      registers,
    });
    this.sendDuration = new Histogram({
      name: METRIC_NAMES.sendDuration,
      help: 'Time a provider took to take (or refuse) one email, in seconds',
      labelNames: ['provider', 'outcome'],
      buckets: SEND_DURATION_BUCKETS,
      registers,
    });
    this.rateLimitWaits = new Counter({
      name: METRIC_NAMES.rateLimitWaits,
      help: "Times an email found no token in a provider's rate-limit bucket and was put back to wait",
      labelNames: ['provider'],
      registers,
    });
    this.reconcilerRepairs = new Counter({
      name: METRIC_NAMES.reconcilerRepairs,
      help:
        'Emails the reconciler found unfinished with no job to move them on, by the status they were left in ' +
        'and what it did: "requeued", or "dead_lettered" when their attempts were spent',
      labelNames: ['status', 'action'],
      registers,
    });
    this.reconcilerSweeps = new Counter({
      name: METRIC_NAMES.reconcilerSweeps,
      help: "Sweeps this process ran as the reconciler's leader (one worker at a time leads)",
      registers,
    });
    this.httpDuration = new Histogram({
      name: METRIC_NAMES.httpRequestDuration,
      help: 'HTTP requests to the API by method, route pattern and status code, in seconds',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    });
    // The audit writer counts its failures; the counter catches up with it at each scrape.
    const auditFailures = () => this.readAuditFailures();
    let auditFailuresCounted = 0;
    new Counter({
      name: METRIC_NAMES.auditWriteFailures,
      help: 'Audit entries that could not be written (the sends they describe went on)',
      registers,
      collect() {
        const total = auditFailures();
        if (total > auditFailuresCounted) this.inc(total - auditFailuresCounted);
        auditFailuresCounted = Math.max(total, auditFailuresCounted);
      },
    });

    // Zero series for what this process will count, so that rate() sees the first increment.
    if (config.roles.has('api')) {
      for (const service of config.auth.enabled ? configured : ['anonymous'])
        for (const priority of PRIORITIES) this.accepted.inc({ service, priority }, 0);
      for (const provider of ['mailgun', 'sendgrid', 'ses'])
        for (const reason of ['foreign_recipient', 'rate_limited'])
          this.callbacksRejected.inc({ provider, reason }, 0);
      this.callbacksRejected.inc({ provider: 'mailgun', reason: 'replayed' }, 0);
    }
    for (const [via, role] of Object.entries(AUTH_ENTRY_ROLES)) {
      if (config.roles.has(role))
        for (const outcome of ['counted', 'refused']) this.authFailures.inc({ via, outcome }, 0);
    }
    if (config.roles.has('worker')) {
      for (const provider of config.providers.enabled) {
        if (config.providers.rateLimits[provider]) this.rateLimitWaits.inc({ provider }, 0);
      }
      for (const status of UNFINISHED_STATUSES) this.reconcilerRepairs.inc({ status, action: 'requeued' }, 0);
      for (const status of INTERRUPTED_STATUSES)
        this.reconcilerRepairs.inc({ status, action: 'dead_lettered' }, 0);
      this.reconcilerSweeps.inc(0);
    }
  }

  /** The audit writer's count of entries it could not write (AuditWriter calls this once, at start). */
  followAuditFailures(read: () => number): void {
    this.readAuditFailures = read;
  }

  onEmailEvent(event: EmailEvent): void {
    const service = this.services.label(event.service);
    const priority = priorityLabel(event.priority);
    switch (event.event) {
      case 'accepted':
        this.accepted.inc({ service, priority });
        return;
      case 'sent':
        this.sent.inc({ service, provider: providerLabel(event.provider), priority });
        this.observeSend(event, 'sent');
        return;
      case 'failed':
        this.failed.inc({ service, provider: providerLabel(event.provider), priority });
        this.observeSend(event, 'failed');
        return;
      case 'dead_lettered':
        this.deadLettered.inc({ service, provider: providerLabel(event.provider), priority });
        return;
      case 'suppressed': {
        const recipients = Number(event.detail?.recipients ?? 0);
        const outcome = event.detail?.remaining === 0 ? 'email' : 'recipient';
        if (recipients > 0) this.suppressedRecipients.inc({ service, outcome }, recipients);
        return;
      }
      case 'delivered':
      case 'bounced':
      case 'complained':
        this.providerEvents.inc({ provider: providerLabel(event.provider), kind: event.event });
        return;
      case 'reconciled':
        this.reconcilerRepairs.inc({
          status: String(event.detail?.previousStatus),
          action: String(event.detail?.action),
        });
        return;
    }
  }

  /** A provider callback, or an event in one, that changed nothing (see the counter's help). */
  recordRejectedCallback(provider: string, reason: 'replayed' | 'foreign_recipient' | 'rate_limited'): void {
    this.callbacksRejected.inc({ provider: providerLabel(provider), reason });
  }

  /** One sweep of the reconciler, run by this process as the leader. */
  recordReconcilerSweep(): void {
    this.reconcilerSweeps.inc();
  }

  /** One webhook delivery attempt and what it came to. */
  recordWebhookAttempt(outcome: 'ok' | 'failed' | 'dead'): void {
    this.webhookAttempts.inc({ outcome });
  }

  /** A webhook endpoint of `service` was paused: it kept timing out. */
  recordWebhookEndpointPaused(service: string): void {
    this.webhookPauses.inc({ service: this.services.label(service) });
  }

  /** What the SMTP ingress did: a session opened, a login failed, a message accepted or refused. */
  recordSmtp(what: 'sessions' | 'authFailures' | 'accepted' | 'refused'): void {
    if (what === 'sessions') this.smtpSessions.inc({ outcome: 'opened' });
    else if (what === 'authFailures') this.smtpSessions.inc({ outcome: 'auth_failed' });
    else this.smtpMessages.inc({ outcome: what });
  }

  /** A failed authentication at `via`: refused as wrong (`counted`), or refused for its address (`refused`). */
  recordAuthFailure(via: AuthEntry, outcome: 'counted' | 'refused'): void {
    this.authFailures.inc({ via, outcome });
  }

  /** An email found no token in `provider`'s bucket and waits for its turn (not an attempt). */
  recordRateLimitWait(provider: string): void {
    this.rateLimitWaits.inc({ provider: providerLabel(provider) });
  }

  /** One answered HTTP request; `route` is the pattern it matched (undefined: none). */
  observeHttpRequest(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    this.httpDuration.observe(
      { method: methodLabel(method), route: routeLabel(route), status_code: String(statusCode) },
      seconds,
    );
  }

  /** The exposition of every metric, in the Prometheus text format. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private observeSend(event: EmailEvent, outcome: 'sent' | 'failed'): void {
    if (event.latencyMs === undefined) return;
    this.sendDuration.observe({ provider: providerLabel(event.provider), outcome }, event.latencyMs / 1000);
  }

  /** At most one line a minute: a Redis outage must not add a log line per scrape. */
}
