/**
 * The overview page's script, served as `assets/dashboard.js`. Plain browser JavaScript, kept here as text so
 * that it ships inside the build (dist/) like the rest of the code. It refreshes the page from
 * `GET api/overview` and redraws what the server rendered first (overview.page.ts: keep the markup and the
 * formatting of the two in step), draws the chart with uPlot, and retries dead letters.
 * Every value goes into the page through textContent or an attribute, never as markup.
 */
export const DASHBOARD_SCRIPT = String.raw`(() => {
  'use strict';

  const UNKNOWN = 'Unknown while Redis is unavailable.';
  const REQUEST_HEADERS = { 'x-requested-with': 'FreeFaceDashboard' };
  const refreshMs = Math.max(1, Number(document.body.dataset.refreshSeconds) || 5) * 1000;
  let overview = JSON.parse(document.getElementById('overview-data').textContent);
  let chart = null;
  let generation = 0;
  let toastTimer = 0;

  const formatNumber = (v) => (typeof v === 'number' ? v.toLocaleString('en-US') : '\u2013');
  const formatTime = (iso) => (iso ? iso.slice(0, 10) + ' ' + iso.slice(11, 19) + ' UTC' : '\u2013');
  function formatDuration(seconds) {
    if (typeof seconds !== 'number') return '\u2013';
    const d = Math.floor(seconds / 86400);
    const h = Math.floor((seconds % 86400) / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    if (d > 0) return d + ' d ' + h + ' h';
    if (h > 0) return h + ' h ' + m + ' min';
    if (m > 0) return m + ' min';
    return Math.floor(seconds) + ' s';
  }
  function format(value, kind) {
    if (kind === 'duration') return formatDuration(value);
    if (kind === 'text') return value === null || value === undefined ? '\u2013' : String(value);
    return formatNumber(value);
  }

  /** An element with attributes ('text' sets textContent) and children (strings become text nodes). */
  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = String(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children || []) if (child !== null && child !== '') node.append(child);
    return node;
  }
  const emptyRow = (columns, text) => el('tr', { class: 'empty' }, [el('td', { colspan: columns, text })]);
  const num = (value) => el('td', { class: 'num', text: formatNumber(value) });

  function providerRows(providers) {
    if (!providers) return [emptyRow(5, UNKNOWN)];
    const entries = Object.entries(providers);
    if (entries.length === 0) return [emptyRow(5, 'No provider is configured.')];
    return entries.map(([name, p]) =>
      el('tr', {}, [
        el('td', {}, [el('strong', { text: name }), p.inChain ? null : ' ', p.inChain ? null : el('span', { class: 'tag', text: 'pinned only' })]),
        el('td', {}, [
          el('span', { class: 'pill', 'data-state': p.circuit.state, text: p.circuit.state }),
          p.circuit.openUntil ? ' ' : null,
          p.circuit.openUntil ? el('small', { text: 'until ' + formatTime(p.circuit.openUntil) }) : null,
        ]),
        num(p.circuit.consecutiveFailures),
        el('td', { text: p.rateLimit ? p.rateLimit.limit + ', burst ' + p.rateLimit.burst : 'unlimited' }),
        p.rateLimit ? num(p.rateLimit.tokens) : el('td', { class: 'num', text: '\u2013' }),
      ]),
    );
  }

  function serviceRows(services) {
    if (!services) return [emptyRow(7, UNKNOWN)];
    const entries = Object.entries(services);
    if (entries.length === 0) return [emptyRow(7, 'No calls yet.')];
    return entries.map(([name, s]) =>
      el('tr', {}, [
        el('td', {}, [el('strong', { text: name })]),
        num(s.calls),
        num(s.emailsAccepted),
        num(s.emailsSent),
        num(s.emailsFailed),
        num(s.emailsDead),
        el('td', { text: formatTime(s.lastCallAt) }),
      ]),
    );
  }

  const recipients = (to) => (to.length === 0 ? '' : to.length === 1 ? to[0] : to[0] + ' +' + (to.length - 1));

  function deadLetterRows(items) {
    if (!items) return [emptyRow(7, UNKNOWN)];
    if (items.length === 0) return [emptyRow(7, 'No dead letters: every email is delivered or on its way.')];
    return items.map((d) =>
      el('tr', { 'data-id': d.id }, [
        el('td', {}, [el('code', { title: d.id, text: d.id.slice(0, 8) + '\u2026' })]),
        el('td', { text: d.service }),
        el('td', { class: 'subject' }, [d.subject, el('small', { text: recipients(d.to) })]),
        el('td', { class: 'error', text: d.lastError === null ? '\u2013' : d.lastError }),
        el('td', { class: 'num', text: d.attempts + '/' + d.maxAttempts }),
        el('td', { text: formatTime(d.deadAt) }),
        el('td', {}, [el('button', { type: 'button', class: 'retry', 'data-retry': d.id, text: 'Retry' })]),
      ]),
    );
  }

  function replaceRows(id, rows) {
    const body = document.getElementById(id);
    if (body) body.replaceChildren(...rows);
  }

  function setStatus(state, text) {
    const status = document.getElementById('status');
    status.dataset.state = state;
    status.textContent = text;
  }

  /** The chart's series; without figures (Redis down) the last hour's minutes with no values. */
  function chartData(o) {
    if (o.throughput) return [o.throughput.minutes, o.throughput.sent, o.throughput.failed];
    const current = Math.floor(Date.parse(o.generatedAt) / 60000);
    const minutes = Array.from({ length: 60 }, (_, i) => (current - 59 + i) * 60);
    const none = minutes.map(() => null);
    return [minutes, none, none];
  }
  const chartSize = (container) => ({ width: Math.max(280, container.clientWidth), height: 240 });

  function drawChart(o) {
    const container = document.getElementById('chart');
    if (!container || typeof window.uPlot !== 'function') return;
    container.dataset.sentTotal = String(o.throughput ? o.throughput.totals.sent : 0);
    if (chart) {
      chart.setData(chartData(o));
      return;
    }
    container.replaceChildren();
    const uPlot = window.uPlot;
    const axis = {
      stroke: '#6b7280',
      font: '12px system-ui, sans-serif',
      grid: { stroke: '#eef1f5', width: 1 },
      ticks: { stroke: '#e5e7eb', width: 1 },
    };
    // One bar per minute, sent to the left of the minute and failed attempts to the right of it.
    const bars = (align) => uPlot.paths.bars({ size: [0.42, 14], align });
    chart = new uPlot(
      {
        ...chartSize(container),
        padding: [12, 12, 0, 4],
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        legend: { live: false },
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        scales: {
          x: { time: true, range: (_u, min, max) => [min - 45, max + 45] },
          y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] },
        },
        axes: [
          { ...axis, values: (_u, splits) => splits.map((ts) => new Date(ts * 1000).toISOString().slice(11, 16)) },
          {
            ...axis,
            size: 44,
            incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
            values: (_u, splits) => splits.map((v) => v.toLocaleString('en-US')),
          },
        ],
        series: [
          { label: 'UTC' },
          { label: 'Sent', stroke: '#4f46e5', fill: 'rgba(79, 70, 229, 0.85)', width: 0, paths: bars(-1), points: { show: false } },
          { label: 'Failed attempts', stroke: '#dc2626', fill: 'rgba(220, 38, 38, 0.85)', width: 0, paths: bars(1), points: { show: false } },
        ],
      },
      chartData(o),
      container,
    );
    window.addEventListener('resize', () => chart.setSize(chartSize(container)));
  }

  function render(o) {
    overview = o;
    for (const node of document.querySelectorAll('[data-field]')) {
      const value = node.dataset.field.split('.').reduce((v, key) => (v === null || v === undefined ? undefined : v[key]), o);
      node.textContent = format(value, node.dataset.format);
    }
    const down = !o.redisAvailable;
    document.getElementById('redis-down').hidden = !down;
    setStatus(down ? 'open' : 'closed', down ? 'Redis unavailable' : 'Live');
    const updated = document.getElementById('updated');
    updated.dateTime = o.generatedAt;
    updated.textContent = formatTime(o.generatedAt);
    replaceRows('providers', providerRows(o.queues ? o.queues.providers : null));
    replaceRows('services', serviceRows(o.services));
    replaceRows('dead-letters', deadLetterRows(o.deadLetters ? o.deadLetters.items : null));
    drawChart(o);
  }

  /** Fetches and shows the overview; an answer overtaken by a newer request (or a retry) is dropped. */
  async function refresh() {
    const mine = ++generation;
    try {
      const response = await fetch('api/overview', { cache: 'no-store', credentials: 'same-origin' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const next = await response.json();
      if (mine === generation) render(next);
    } catch {
      if (mine === generation) setStatus('half-open', 'Dashboard unreachable');
    }
  }

  function toast(text, tone) {
    const node = document.getElementById('toast');
    node.textContent = text;
    node.dataset.tone = tone;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (node.hidden = true), 5000);
  }

  async function retry(button) {
    const id = button.dataset.retry;
    button.disabled = true;
    button.textContent = 'Retrying\u2026';
    generation++;
    try {
      const response = await fetch('api/dead-letters/' + encodeURIComponent(id) + '/retry', {
        method: 'POST',
        credentials: 'same-origin',
        headers: REQUEST_HEADERS,
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.detail || 'HTTP ' + response.status);
      const row = button.closest('tr');
      if (row) row.remove();
      toast('Email ' + id.slice(0, 8) + '\u2026 is queued again with fresh attempts.', 'ok');
    } catch (error) {
      button.disabled = false;
      button.textContent = 'Retry';
      toast('Retry failed: ' + error.message, 'bad');
    }
    await refresh();
  }

  document.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button[data-retry]') : null;
    if (button && !button.disabled) void retry(button);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void refresh();
  });

  drawChart(overview);
  (function loop() {
    setTimeout(async () => {
      if (!document.hidden) await refresh();
      loop();
    }, refreshMs);
  })();
})();
`;
