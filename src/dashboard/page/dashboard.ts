/*
 * The overview page's script (`assets/dashboard.js`, a module). The server sends the page's shell and the
 * overview as JSON (`#overview-data`); this renders every value from it at once, then again from
 * `GET api/overview` on every refresh, and retries dead letters from their buttons. Values reach the page as
 * text and attributes only (elements.ts); ESLint refuses the markup APIs in this folder.
 */
import { byId } from './elements.js';
import { formatField, formatTime, readField } from './format.js';
import type { OverviewData } from './overview-data.js';
import { deadLetterRows, providerRows, serviceRows } from './tables.js';
import { ThroughputChart } from './throughput-chart.js';

/** The header the retry route requires (csrf.ts): only a same-origin script can send it. */
const RETRY_HEADERS = { 'x-requested-with': 'FreeFaceDashboard' };
const DEFAULT_REFRESH_SECONDS = 5;
const TOAST_MS = 5000;

const refreshMs = Math.max(1, Number(document.body.dataset.refreshSeconds) || DEFAULT_REFRESH_SECONDS) * 1000;
const chart = new ThroughputChart(byId('chart'));
/** Counts requests: an overview answer overtaken by a newer request (or by a retry) is dropped. */
let generation = 0;
let toastTimer: ReturnType<typeof setTimeout> | undefined;

function setStatus(state: 'closed' | 'half-open' | 'open', text: string): void {
  const status = byId('status');
  status.dataset.state = state;
  status.textContent = text;
  status.hidden = false;
}

/** Shows an overview: every `data-field` cell, the tables, the chart, and whether Redis is reachable. */
function render(overview: OverviewData): void {
  for (const cell of document.querySelectorAll<HTMLElement>('[data-field]')) {
    cell.textContent = formatField(readField(overview, cell.dataset.field ?? ''), cell.dataset.format);
  }
  const isRedisDown = !overview.redisAvailable;
  byId('redis-down').hidden = !isRedisDown;
  setStatus(isRedisDown ? 'open' : 'closed', isRedisDown ? 'Redis unavailable' : 'Live');
  const updated = byId<HTMLTimeElement>('updated');
  updated.dateTime = overview.generatedAt;
  updated.textContent = formatTime(overview.generatedAt);
  byId('providers').replaceChildren(...providerRows(overview.queues?.providers ?? null));
  byId('services').replaceChildren(...serviceRows(overview.services));
  byId('dead-letters').replaceChildren(...deadLetterRows(overview.deadLetters?.items ?? null));
  chart.show(overview);
}

async function refresh(): Promise<void> {
  const mine = ++generation;
  try {
    const response = await fetch('api/overview', { cache: 'no-store', credentials: 'same-origin' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const overview = (await response.json()) as OverviewData;
    if (mine === generation) render(overview);
  } catch {
    if (mine === generation) setStatus('half-open', 'Dashboard unreachable');
  }
}

function toast(text: string, tone: 'ok' | 'bad'): void {
  const node = byId('toast');
  node.textContent = text;
  node.dataset.tone = tone;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (node.hidden = true), TOAST_MS);
}

/** The `detail` of a problem+json answer, when there is one. */
function problemDetail(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('detail' in body)) return undefined;
  return typeof body.detail === 'string' ? body.detail : undefined;
}

async function retry(button: HTMLButtonElement): Promise<void> {
  const id = button.dataset.retry ?? '';
  button.disabled = true;
  button.textContent = 'Retrying…';
  generation++;
  try {
    const response = await fetch(`api/dead-letters/${encodeURIComponent(id)}/retry`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: RETRY_HEADERS,
    });
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw new Error(problemDetail(body) ?? `HTTP ${response.status}`);
    button.closest('tr')?.remove();
    toast(`Email ${id.slice(0, 8)}… is queued again with fresh attempts.`, 'ok');
  } catch (error) {
    button.disabled = false;
    button.textContent = 'Retry';
    toast(`Retry failed: ${error instanceof Error ? error.message : String(error)}`, 'bad');
  }
  await refresh();
}

document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const button = target?.closest<HTMLButtonElement>('button[data-retry]');
  if (button && !button.disabled) void retry(button);
});
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void refresh();
});

/** Refreshes while the page is visible; each wait starts once the last answer is in, so none overlap. */
function refreshLater(): void {
  setTimeout(() => {
    const refreshed = document.hidden ? Promise.resolve() : refresh();
    void refreshed.then(refreshLater);
  }, refreshMs);
}

render(JSON.parse(byId('overview-data').textContent ?? '') as OverviewData);
refreshLater();
