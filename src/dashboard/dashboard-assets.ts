import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DASHBOARD_SCRIPT } from './assets/dashboard.client';
import { DASHBOARD_ICON, DASHBOARD_STYLE } from './assets/dashboard.style';
import type { PageAssets } from './overview.page';

export interface Asset {
  body: Buffer;
  contentType: string;
  /** A digest of the content: pages link `assets/<name>?v=<version>`, so browsers fetch a new build anew. */
  version: string;
}

const asset = (body: string | Buffer, contentType: string): Asset => {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return { body: bytes, contentType, version: createHash('sha256').update(bytes).digest('hex').slice(0, 12) };
};

/**
 * The files the overview page loads, all served by the dashboard itself (it must work without internet
 * access): its script, style and icon, and uPlot's browser build from node_modules. Read once at start.
 */
export function loadDashboardAssets(): ReadonlyMap<string, Asset> {
  const uPlotFile = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`));
  return new Map([
    ['dashboard.js', asset(DASHBOARD_SCRIPT, 'text/javascript; charset=utf-8')],
    ['dashboard.css', asset(DASHBOARD_STYLE, 'text/css; charset=utf-8')],
    ['favicon.svg', asset(DASHBOARD_ICON, 'image/svg+xml')],
    ['uPlot.iife.min.js', asset(uPlotFile('uPlot.iife.min.js'), 'text/javascript; charset=utf-8')],
    ['uPlot.min.css', asset(uPlotFile('uPlot.min.css'), 'text/css; charset=utf-8')],
  ]);
}

/** The page's links to the assets, relative to the page (the dashboard may sit under a proxy's path). */
export function pageAssets(assets: ReadonlyMap<string, Asset>): PageAssets {
  const url = (name: string) => `assets/${name}?v=${assets.get(name)!.version}`;
  return {
    script: url('dashboard.js'),
    style: url('dashboard.css'),
    chartScript: url('uPlot.iife.min.js'),
    chartStyle: url('uPlot.min.css'),
    icon: url('favicon.svg'),
  };
}
