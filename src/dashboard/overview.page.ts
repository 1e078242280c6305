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

type Format = 'number' | 'text' | 'duration';

/**
 * A cell the page's script fills from the overview (page/format.ts): `data-field` names the value,
 * `data-format` how it is written. The server writes no value.
 */
const field = (path: string, format: Format = 'number'): SafeHtml =>
  html`<span data-field="${path}" data-format="${format}"></span>`;

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

/** A panel of named figures, each a cell the page's script fills. */
function factsPanel(
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
            <dd>${field(row.path, row.format)}</dd>
          </div>`,
      )}
    </dl>
  </section>`;
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
 * The overview page's shell: layout, headings, labels, table heads, empty bodies and the cells for the
 * figures, with the overview embedded as JSON. Its script (page/dashboard.ts) renders every value from that
 * JSON, then from `GET api/overview` every `refreshSeconds`: the server formats none of them.
 */
export function renderOverviewPage(overview: Overview, options: PageOptions): string {
  const { assets } = options;
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
            <span id="status" class="pill" hidden></span>
            <span class="updated">Updated <time id="updated"></time></span>
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
          <noscript>
            <p class="banner bad">
              The dashboard needs JavaScript: its script shows every figure on this page.
            </p>
          </noscript>
          <p id="redis-down" class="banner bad" hidden>
            <strong>Redis unavailable.</strong> The service cannot reach Redis; figures return here as soon as
            it is back.
          </p>

          <section class="cards" aria-label="Summary">
            ${CARDS.map(
              (card) =>
                html`<div class="card${card.tone ? ` ${card.tone}` : ''}">
                  <div class="label">${card.label}</div>
                  <div class="value">${field(card.path)}</div>
                  <div class="hint">${card.hint}</div>
                </div>`,
            )}
          </section>

          <section class="panel">
            <div class="panel-head">
              <h2>Emails per minute</h2>
              <span class="muted"
                >last hour · sent ${field('throughput.totals.sent')} · failed attempts
                ${field('throughput.totals.failed')}</span
              >
            </div>
            <div id="chart" class="chart"></div>
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
                            html`<td class="num">${field(`queues.queues.${priority}.${column}`)}</td>`,
                        )}
                      </tr>`,
                  )}
                </tbody>
              </table>
            </section>
            ${factsPanel('Delivery events', 'suppressions and webhooks', DELIVERY_EVENT_ROWS)}
            ${factsPanel('Redis', undefined, REDIS_ROWS)}
            ${factsPanel('SMTP ingress', 'since the counters began, every smtp process', SMTP_ROWS)}
          </div>

          <section class="panel">
            <div class="panel-head">
              <h2>Dead letters</h2>
              <span class="muted">newest first · ${field('deadLetters.total')} in all</span>
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
              <tbody id="dead-letters"></tbody>
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
                <tbody id="providers"></tbody>
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
                <tbody id="services"></tbody>
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
