import type { DeadLetterDto } from '../dead-letters/dto/dead-letter.dto';
import type { ServiceFigures } from '../metrics/service-metrics.recorder';
import type { ProviderFigures } from '../queue/queue-figures.service';
import { PRIORITIES } from '../queue/queue-names';
import { html, jsonForScript, type SafeHtml } from './html';
import type { Overview } from './overview';

/** Where the page finds its own assets (relative, with a version so that a new build is fetched anew). */
export interface PageAssets {
  script: string;
  style: string;
  chartScript: string;
  chartStyle: string;
  icon: string;
}

export interface PageOptions {
  assets: PageAssets;
  /** No credentials are configured: say so on the page (development only). */
  isOpen: boolean;
  refreshSeconds: number;
}

/* The formatting below is mirrored by the page's script (assets/dashboard.client.ts), which redraws the same
   markup from GET /api/overview: keep the two in step. */

/** 1,234 — or a dash for a figure that is not known. */
export function formatNumber(value: number | null | undefined): string {
  return typeof value === 'number' ? value.toLocaleString('en-US') : '–';
}

/** `2026-11-26 10:00:03 UTC`, the same whatever the viewer's time zone. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '–';
}

/** `3 d 4 h`, `5 h 12 min`, `12 min`, `45 s`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number') return '–';
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${Math.floor(seconds)} s`;
}

/** Reads `a.b.c` from the overview, for the cells the page's script refreshes by their `data-field`. */
function at(overview: Overview, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | null)?.[key], overview);
}

type Format = 'number' | 'text' | 'duration';

/** A cell that the page's script keeps up to date: `data-field` names the value, `data-format` its format. */
function field(overview: Overview, path: string, format: Format = 'number'): SafeHtml {
  const value = at(overview, path);
  const text =
    format === 'duration'
      ? formatDuration(value as number | null)
      : format === 'number'
        ? formatNumber(value as number | null)
        : typeof value === 'string' || typeof value === 'number'
          ? String(value)
          : '–';
  return html`<span data-field="${path}" data-format="${format}">${text}</span>`;
}

const CARDS: readonly { path: string; label: string; hint: string; tone?: string }[] = [
  { path: 'summary.waiting', label: 'Waiting', hint: 'queued, all priorities' },
  { path: 'summary.active', label: 'Active', hint: 'being delivered now' },
  { path: 'summary.delayed', label: 'Delayed', hint: 'retries, waits, schedules' },
  { path: 'summary.scheduled', label: 'Scheduled', hint: 'sendAt in the future' },
  { path: 'summary.sentLastHour', label: 'Sent', hint: 'last hour', tone: 'ok' },
  { path: 'summary.failedLastHour', label: 'Failed attempts', hint: 'last hour', tone: 'bad' },
  { path: 'summary.deadLetters', label: 'Dead letters', hint: 'need an operator', tone: 'warn' },
];

const QUEUE_COLUMNS = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;

const REDIS_ROWS: readonly { path: string; label: string; format?: Format }[] = [
  { path: 'redis.version', label: 'Version', format: 'text' },
  { path: 'redis.uptimeSeconds', label: 'Uptime', format: 'duration' },
  { path: 'redis.usedMemoryHuman', label: 'Memory used', format: 'text' },
  { path: 'redis.usedMemoryPeakHuman', label: 'Memory peak', format: 'text' },
  { path: 'redis.opsPerSecond', label: 'Operations / s' },
  { path: 'redis.connectedClients', label: 'Connected clients' },
  { path: 'redis.keys', label: 'Keys' },
];

const DELIVERY_EVENT_ROWS: readonly { path: string; label: string }[] = [
  { path: 'deliveryEvents.suppressedAddresses', label: 'Suppressed addresses' },
  { path: 'deliveryEvents.webhooks', label: 'Webhooks' },
  { path: 'deliveryEvents.pausedWebhooks', label: 'Webhooks paused (kept timing out)' },
  { path: 'deliveryEvents.deliveries.succeeded', label: 'Deliveries ok' },
  { path: 'deliveryEvents.deliveries.pending', label: 'Deliveries pending (retrying)' },
  { path: 'deliveryEvents.deliveries.failed', label: 'Deliveries failed (out of retries)' },
  { path: 'deliveryEvents.queue.waiting', label: 'Webhook jobs waiting' },
  { path: 'deliveryEvents.queue.delayed', label: 'Webhook jobs awaiting a retry' },
];

const SMTP_ROWS: readonly { path: string; label: string }[] = [
  { path: 'smtpIngress.sessions', label: 'Sessions' },
  { path: 'smtpIngress.accepted', label: 'Messages accepted' },
  { path: 'smtpIngress.refused', label: 'Messages refused' },
  { path: 'smtpIngress.authFailures', label: 'Failed logins' },
];

const UNKNOWN = 'Unknown while Redis is unavailable.';

/** A panel of named figures, each a cell the page's script keeps up to date. */
function factsPanel(
  overview: Overview,
  title: string,
  hint: string | undefined,
  rows: readonly { path: string; label: string; format?: Format }[],
): SafeHtml {
  return html`<section class="panel">
    <div class="panel-head">
      <h2>${title}</h2>
      ${hint ? html`<span class="muted">${hint}</span>` : ''}
    </div>
    <dl class="facts">
      ${rows.map(
        (row) =>
          html`<div>
            <dt>${row.label}</dt>
            <dd>${field(overview, row.path, row.format)}</dd>
          </div>`,
      )}
    </dl>
  </section>`;
}

const emptyRow = (columns: number, text: string) =>
  html`<tr class="empty">
    <td colspan="${columns}">${text}</td>
  </tr>`;

export function providerRows(providers: Partial<Record<string, ProviderFigures>> | undefined): SafeHtml {
  if (!providers) return emptyRow(5, UNKNOWN);
  const entries = Object.entries(providers).filter(
    (entry): entry is [string, ProviderFigures] => entry[1] !== undefined,
  );
  if (entries.length === 0) return emptyRow(5, 'No provider is configured.');
  return html`${entries.map(
    ([name, p]) =>
      html`<tr>
        <td><strong>${name}</strong>${p.inChain ? '' : html` <span class="tag">pinned only</span>`}</td>
        <td>
          <span class="pill" data-state="${p.circuit.state}">${p.circuit.state}</span>${
            p.circuit.openUntil ? html` <small>until ${formatTime(p.circuit.openUntil)}</small>` : ''
          }
        </td>
        <td class="num">${formatNumber(p.circuit.consecutiveFailures)}</td>
        <td>${p.rateLimit ? `${p.rateLimit.limit}, burst ${p.rateLimit.burst}` : 'unlimited'}</td>
        <td class="num">${p.rateLimit ? formatNumber(p.rateLimit.tokens) : '–'}</td>
      </tr>`,
  )}`;
}

export function serviceRows(services: Record<string, ServiceFigures> | null | undefined): SafeHtml {
  if (!services) return emptyRow(7, UNKNOWN);
  const entries = Object.entries(services);
  if (entries.length === 0) return emptyRow(7, 'No calls yet.');
  return html`${entries.map(
    ([name, s]) =>
      html`<tr>
        <td><strong>${name}</strong></td>
        <td class="num">${formatNumber(s.calls)}</td>
        <td class="num">${formatNumber(s.emailsAccepted)}</td>
        <td class="num">${formatNumber(s.emailsSent)}</td>
        <td class="num">${formatNumber(s.emailsFailed)}</td>
        <td class="num">${formatNumber(s.emailsDead)}</td>
        <td>${formatTime(s.lastCallAt)}</td>
      </tr>`,
  )}`;
}

export function deadLetterRows(items: readonly DeadLetterDto[] | undefined): SafeHtml {
  if (!items) return emptyRow(7, UNKNOWN);
  if (items.length === 0) return emptyRow(7, 'No dead letters: every email is delivered or on its way.');
  return html`${items.map(
    (d) =>
      html`<tr data-id="${d.id}">
        <td><code title="${d.id}">${d.id.slice(0, 8)}…</code></td>
        <td>${d.service}</td>
        <td class="subject">${d.subject}<small>${recipients(d.to)}</small></td>
        <td class="error">${d.lastError ?? '–'}</td>
        <td class="num">${d.attempts}/${d.maxAttempts}</td>
        <td>${formatTime(d.deadAt)}</td>
        <td><button type="button" class="retry" data-retry="${d.id}">Retry</button></td>
      </tr>`,
  )}`;
}

/** `ana@example.com`, or `ana@example.com +2` for several. */
export function recipients(to: readonly string[]): string {
  if (to.length === 0) return '';
  return to.length === 1 ? to[0]! : `${to[0]} +${to.length - 1}`;
}

const LOGO = html`<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
  <rect width="24" height="24" rx="6" fill="currentColor" />
  <path
    d="M5 8l7 5 7-5"
    stroke="#fff"
    stroke-width="2"
    fill="none"
    stroke-linecap="round"
    stroke-linejoin="round"
  />
  <rect x="5" y="7" width="14" height="10" rx="1.5" stroke="#fff" stroke-width="2" fill="none" />
</svg>`;

/**
 * The overview page, rendered with the figures of the moment; its script then refreshes it from
 * `GET /api/overview` every `refreshSeconds`. Every value is escaped by `html`.
 */
export function renderOverviewPage(overview: Overview, options: PageOptions): string {
  const { assets } = options;
  const down = !overview.redisAvailable;
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>FreeFace · Email dashboard</title>
        <link rel="icon" type="image/svg+xml" href="${assets.icon}" />
        <link rel="stylesheet" href="${assets.chartStyle}" />
        <link rel="stylesheet" href="${assets.style}" />
        <script defer src="${assets.chartScript}"></script>
        <script type="module" src="${assets.script}"></script>
      </head>
      <body data-refresh-seconds="${options.refreshSeconds}">
        <header class="topbar">
          <a class="brand" href="./">${LOGO}<span>FreeFace</span><small>Email service</small></a>
          <nav>
            <a href="./" aria-current="page">Overview</a>
            <a href="queues/">Queue detail</a>
          </nav>
          <div class="status">
            <span id="status" class="pill" data-state="${down ? 'open' : 'closed'}"
              >${down ? 'Redis unavailable' : 'Live'}</span
            >
            <span class="updated"
              >Updated
              <time id="updated" datetime="${overview.generatedAt}"
                >${formatTime(overview.generatedAt)}</time
              ></span
            >
          </div>
        </header>
        <main>
          ${
            options.isOpen
              ? html`<p class="banner warn">
                  Open dashboard: DASHBOARD_USER and DASHBOARD_PASSWORD are not set (development only).
                </p>`
              : ''
          }
          <p id="redis-down" class="banner bad" ${down ? '' : html` hidden`}>
            <strong>Redis unavailable.</strong> The service cannot reach Redis; figures return here as soon as
            it is back.
          </p>

          <section class="cards" aria-label="Summary">
            ${CARDS.map(
              (card) =>
                html`<div class="card${card.tone ? ` ${card.tone}` : ''}">
                  <div class="label">${card.label}</div>
                  <div class="value">${field(overview, card.path)}</div>
                  <div class="hint">${card.hint}</div>
                </div>`,
            )}
          </section>

          <section class="panel">
            <div class="panel-head">
              <h2>Emails per minute</h2>
              <span class="muted"
                >last hour · sent ${field(overview, 'throughput.totals.sent')} · failed attempts
                ${field(overview, 'throughput.totals.failed')}</span
              >
            </div>
            <div id="chart" class="chart"><noscript>The chart needs JavaScript.</noscript></div>
          </section>

          <div class="grid">
            <section class="panel">
              <div class="panel-head">
                <h2>Queues</h2>
                <a class="muted" href="queues/">Jobs in bull-board →</a>
              </div>
              <table>
                <thead>
                  <tr>
                    <th>Priority</th>
                    ${QUEUE_COLUMNS.map((c) => html`<th class="num">${c}</th>`)}
                  </tr>
                </thead>
                <tbody>
                  ${PRIORITIES.map(
                    (priority) =>
                      html`<tr>
                        <td><span class="priority ${priority}">${priority}</span></td>
                        ${QUEUE_COLUMNS.map(
                          (column) =>
                            html`<td class="num">
                              ${field(overview, `queues.queues.${priority}.${column}`)}
                            </td>`,
                        )}
                      </tr>`,
                  )}
                </tbody>
              </table>
            </section>
            ${factsPanel(overview, 'Delivery events', 'suppressions and webhooks', DELIVERY_EVENT_ROWS)}
            ${factsPanel(overview, 'Redis', undefined, REDIS_ROWS)}
            ${factsPanel(overview, 'SMTP ingress', 'since the counters began, every smtp process', SMTP_ROWS)}
          </div>

          <section class="panel">
            <div class="panel-head">
              <h2>Dead letters</h2>
              <span class="muted">newest first · ${field(overview, 'deadLetters.total')} in all</span>
            </div>
            <table class="dead-letters">
              <thead>
                <tr>
                  <th>Email</th>
                  <th>Service</th>
                  <th>Subject</th>
                  <th>Reason</th>
                  <th class="num">Attempts</th>
                  <th>Died</th>
                  <th></th>
                </tr>
              </thead>
              <tbody id="dead-letters">
                ${deadLetterRows(overview.deadLetters?.items)}
              </tbody>
            </table>
          </section>

          <div class="grid">
            <section class="panel">
              <div class="panel-head">
                <h2>Providers</h2>
                <span class="muted">circuits and rate limits</span>
              </div>
              <table>
                <thead>
                  <tr>
                    <th>Provider</th>
                    <th>Circuit</th>
                    <th class="num">Failures in a row</th>
                    <th>Rate limit</th>
                    <th class="num">Tokens</th>
                  </tr>
                </thead>
                <tbody id="providers">
                  ${providerRows(overview.queues?.providers)}
                </tbody>
              </table>
            </section>
            <section class="panel">
              <div class="panel-head">
                <h2>Services</h2>
                <span class="muted">since the counters began</span>
              </div>
              <table>
                <thead>
                  <tr>
                    <th>Service</th>
                    <th class="num">Calls</th>
                    <th class="num">Accepted</th>
                    <th class="num">Sent</th>
                    <th class="num">Failed</th>
                    <th class="num">Dead</th>
                    <th>Last call</th>
                  </tr>
                </thead>
                <tbody id="services">
                  ${serviceRows(overview.services)}
                </tbody>
              </table>
            </section>
          </div>
        </main>
        <footer>FreeFace Email Service · refreshes every ${options.refreshSeconds} s</footer>
        <div id="toast" role="status" aria-live="polite" hidden></div>
        <script type="application/json" id="overview-data">
          ${jsonForScript(overview)}
        </script>
      </body>
    </html> `;
  return page.markup;
}
