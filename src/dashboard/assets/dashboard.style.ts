/** The overview page's style sheet, served as `assets/dashboard.css`: our own, no framework, no web fonts. */
export const DASHBOARD_STYLE = `
:root {
  --bg: #f4f6fa;
  --panel: #ffffff;
  --text: #1b2130;
  --muted: #697386;
  --border: #e3e7ee;
  --head: #f8f9fc;
  --accent: #4f46e5;
  --ok: #047857;
  --ok-bg: #e7f7f0;
  --warn: #b45309;
  --warn-bg: #fdf3e2;
  --bad: #c2261d;
  --bad-bg: #fdecea;
  --radius: 12px;
  --shadow: 0 1px 2px rgba(16, 24, 40, 0.05), 0 1px 3px rgba(16, 24, 40, 0.06);
  --mono: ui-monospace, 'SFMono-Regular', 'Cascadia Mono', 'DejaVu Sans Mono', Menlo, Consolas, monospace;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', 'Noto Sans', 'DejaVu Sans', sans-serif;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
[hidden] { display: none !important; }

.topbar {
  position: sticky;
  top: 0;
  z-index: 10;
  display: flex;
  align-items: center;
  gap: 28px;
  padding: 12px 28px;
  background: #111827;
  color: #e5e7eb;
}
.brand { display: flex; align-items: center; gap: 10px; color: #fff; font-weight: 650; font-size: 16px; }
.brand:hover { text-decoration: none; }
.brand svg { color: var(--accent); }
.brand small { color: #9ca3af; font-weight: 400; font-size: 13px; }
.topbar nav { display: flex; gap: 4px; }
.topbar nav a { color: #cbd5e1; padding: 6px 12px; border-radius: 8px; font-weight: 500; }
.topbar nav a:hover { background: #1f2937; color: #fff; text-decoration: none; }
.topbar nav a[aria-current='page'] { background: #1f2937; color: #fff; }
.status { margin-left: auto; display: flex; align-items: center; gap: 12px; font-size: 13px; color: #9ca3af; }
.status time { color: #e5e7eb; font-variant-numeric: tabular-nums; }

main { max-width: 1440px; margin: 0 auto; padding: 24px 28px 8px; display: grid; gap: 20px; }
footer { max-width: 1440px; margin: 0 auto; padding: 8px 28px 28px; color: var(--muted); font-size: 12px; }

.banner { margin: 0; padding: 12px 16px; border-radius: 10px; border: 1px solid; }
.banner.warn { background: var(--warn-bg); border-color: #f6d9a8; color: var(--warn); }
.banner.bad { background: var(--bad-bg); border-color: #f5c2bd; color: var(--bad); }

.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 14px; }
.card {
  background: var(--panel);
  border: 1px solid var(--border);
  border-radius: var(--radius);
  box-shadow: var(--shadow);
  padding: 14px 16px;
  border-top: 3px solid #c7cde0;
}
.card.ok { border-top-color: #10b981; }
.card.bad { border-top-color: #ef4444; }
.card.warn { border-top-color: #f59e0b; }
.card .label { color: var(--muted); font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { font-size: 28px; font-weight: 650; margin: 4px 0 2px; font-variant-numeric: tabular-nums; }
.card .hint { color: var(--muted); font-size: 12px; }

.panel {
  background: var(--panel);
  border: 1px solid var(--border);
  border-radius: var(--radius);
  box-shadow: var(--shadow);
  padding: 16px 18px;
  min-width: 0;
}
.panel-head { display: flex; align-items: baseline; justify-content: space-between; gap: 12px; margin-bottom: 12px; }
.panel h2 { margin: 0; font-size: 15px; font-weight: 650; }
.muted { color: var(--muted); font-size: 13px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr)); gap: 20px; align-items: start; }

.chart { min-height: 270px; }
.chart .uplot { font-family: inherit; }
.chart .u-legend { font-size: 13px; margin-top: 4px; }

table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th {
  text-align: left;
  font-size: 12px;
  font-weight: 600;
  color: var(--muted);
  text-transform: uppercase;
  letter-spacing: 0.03em;
  padding: 8px 10px;
  background: var(--head);
  border-bottom: 1px solid var(--border);
}
th:first-child { border-top-left-radius: 8px; }
th:last-child { border-top-right-radius: 8px; }
td { padding: 9px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover td { background: #fafbfe; }
.num { text-align: right; }
tr.empty td { color: var(--muted); text-align: center; padding: 18px; font-style: italic; }
td small { color: var(--muted); }
code { font-family: var(--mono); font-size: 12px; background: #f1f3f8; padding: 2px 6px; border-radius: 6px; }

.dead-letters .subject { max-width: 280px; }
.dead-letters .subject small { display: block; margin-top: 2px; }
.dead-letters .error { color: var(--bad); font-family: var(--mono); font-size: 12px; max-width: 420px; word-break: break-word; }

.pill {
  display: inline-block;
  padding: 2px 10px;
  border-radius: 999px;
  font-size: 12px;
  font-weight: 600;
  background: #eef0f4;
  color: var(--muted);
}
.pill[data-state='closed'] { background: var(--ok-bg); color: var(--ok); }
.pill[data-state='half-open'] { background: var(--warn-bg); color: var(--warn); }
.pill[data-state='open'] { background: var(--bad-bg); color: var(--bad); }
.topbar .pill[data-state='closed'] { background: rgba(16, 185, 129, 0.16); color: #6ee7b7; }
.topbar .pill[data-state='half-open'] { background: rgba(245, 158, 11, 0.18); color: #fcd34d; }
.topbar .pill[data-state='open'] { background: rgba(239, 68, 68, 0.2); color: #fca5a5; }
.topbar .pill[data-state='closed']::before { content: ''; display: inline-block; width: 7px; height: 7px; margin-right: 6px; border-radius: 50%; background: #34d399; vertical-align: 1px; }

.tag { font-size: 11px; color: var(--muted); border: 1px solid var(--border); border-radius: 6px; padding: 0 6px; }
.priority { font-weight: 600; text-transform: capitalize; }
.priority::before { content: ''; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 8px; vertical-align: 1px; }
.priority.high::before { background: #ef4444; }
.priority.medium::before { background: #f59e0b; }
.priority.low::before { background: #94a3b8; }

.facts { margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.facts div { background: var(--head); border: 1px solid var(--border); border-radius: 10px; padding: 10px 12px; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 2px 0 0; font-size: 16px; font-weight: 600; font-variant-numeric: tabular-nums; }

button.retry {
  font: inherit;
  font-size: 13px;
  font-weight: 600;
  color: #fff;
  background: var(--accent);
  border: 0;
  border-radius: 8px;
  padding: 5px 14px;
  cursor: pointer;
  white-space: nowrap;
}
button.retry:hover { background: #4338ca; }
button.retry:focus-visible { outline: 3px solid #c7d2fe; outline-offset: 1px; }
button.retry:disabled { background: #a5b4fc; cursor: progress; }

#toast {
  position: fixed;
  right: 24px;
  bottom: 24px;
  max-width: 420px;
  padding: 12px 16px;
  border-radius: 10px;
  color: #fff;
  background: #111827;
  box-shadow: 0 10px 25px rgba(16, 24, 40, 0.2);
}
#toast[data-tone='ok'] { background: #065f46; }
#toast[data-tone='bad'] { background: #991b1b; }

@media (max-width: 720px) {
  .topbar { flex-wrap: wrap; gap: 10px 16px; padding: 10px 16px; }
  main { padding: 16px; }
  .panel { overflow-x: auto; }
}
`;

/** The page's icon: the envelope of the header, in the accent colour. */
export const DASHBOARD_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="6" fill="#4f46e5"/><rect x="5" y="7" width="14" height="10" rx="1.5" stroke="#fff" stroke-width="2" fill="none"/><path d="M5 8l7 5 7-5" stroke="#fff" stroke-width="2" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
