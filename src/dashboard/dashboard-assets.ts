import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { PageAssets } from './overview.page';

export interface Asset {
  body: Buffer;
  contentType: string;
  /** A digest of the content: pages link `assets/<name>?v=<version>`, so browsers fetch a new build anew. */
  version: string;
}

/**
 * Where the build leaves the page's own files: the modules tsc compiles from `page/*.ts`
 * (page/tsconfig.build.json) and the style sheet and icon that nest-cli.json copies beside them.
 */
const PAGE_DIR = join(__dirname, 'page');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const asset = (body: Buffer, contentType: string): Asset => ({
  body,
  contentType,
  version: createHash('sha256').update(body).digest('hex').slice(0, 12),
});

/**
 * The files the overview page loads, all served by the dashboard itself (it must work without internet
 * access): its script modules, style and icon, and uPlot's browser build from node_modules. Read once at
 * start. A page folder that was not built (`nest start` alone compiles the server only) gives no page assets:
 * the dashboard controller says so at start.
 */
export function loadDashboardAssets(pageDir = PAGE_DIR): ReadonlyMap<string, Asset> {
  const uPlotFile = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`));
  const pageFiles = existsSync(pageDir) ? readdirSync(pageDir) : [];
  return new Map([
    ...pageFiles
      .filter((name) => Object.hasOwn(CONTENT_TYPES, extname(name)))
      .map((name): [string, Asset] => [
        name,
        asset(readFileSync(join(pageDir, name)), CONTENT_TYPES[extname(name)]!),
      ]),
    ['uPlot.iife.min.js', asset(uPlotFile('uPlot.iife.min.js'), CONTENT_TYPES['.js']!)],
    ['uPlot.min.css', asset(uPlotFile('uPlot.min.css'), CONTENT_TYPES['.css']!)],
  ]);
}

/** The page's links to the assets, relative to the page (the dashboard may sit under a proxy's path). */
export function pageAssets(assets: ReadonlyMap<string, Asset>): PageAssets {
  const url = (name: string) => {
    const version = assets.get(name)?.version;
    return version ? `assets/${name}?v=${version}` : `assets/${name}`;
  };
  return {
    script: url('dashboard.js'),
    style: url('dashboard.css'),
    chartScript: url('uPlot.iife.min.js'),
    chartStyle: url('uPlot.min.css'),
    icon: url('favicon.svg'),
  };
}

export interface AssetAnswer {
  status: 200 | 304;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Whether an If-None-Match header names this ETag (or is `*`); weak tags compare by their value. */
function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

/**
 * The answer to `GET assets/<name>`. A link of the page carries the file's version (`?v=`), so that answer may
 * be kept for a day: a new build links new URLs. But the page's modules import one another by plain relative
 * URLs (`./format.js`, as tsc writes them), which carry no version; kept for a day, they would let a new
 * `dashboard.js` run with a module of the build before. So anything asked for without the current version
 * must be revalidated on every load (no-cache), and its ETag (the version) makes an unchanged file a 304.
 */
export function answerAsset(
  asset: Asset,
  requestedVersion: unknown,
  ifNoneMatch: string | undefined,
): AssetAnswer {
  const etag = `"${asset.version}"`;
  const headers = {
    etag,
    'cache-control': requestedVersion === asset.version ? 'private, max-age=86400' : 'private, no-cache',
  };
  if (matchesEtag(ifNoneMatch, etag)) return { status: 304, headers };
  return { status: 200, headers: { ...headers, 'content-type': asset.contentType }, body: asset.body };
}
