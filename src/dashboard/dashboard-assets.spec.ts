import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerAsset, loadDashboardAssets, pageAssets, type Asset } from './dashboard-assets';

describe('loadDashboardAssets', () => {
  let pageDir: string;

  beforeEach(() => {
    pageDir = mkdtempSync(join(tmpdir(), 'dashboard-page-'));
  });
  afterEach(() => rmSync(pageDir, { recursive: true, force: true }));

  it("serves the built page's modules, style and icon, and uPlot from node_modules", () => {
    writeFileSync(join(pageDir, 'dashboard.js'), "import { x } from './format.js';");
    writeFileSync(join(pageDir, 'format.js'), 'export const x = 1;');
    writeFileSync(join(pageDir, 'dashboard.css'), 'body {}');
    writeFileSync(join(pageDir, 'favicon.svg'), '<svg/>');
    writeFileSync(join(pageDir, 'format.js.map'), '{}');
    const assets = loadDashboardAssets(pageDir);
    expect([...assets.keys()].sort()).toEqual([
      'dashboard.css',
      'dashboard.js',
      'favicon.svg',
      'format.js',
      'uPlot.iife.min.js',
      'uPlot.min.css',
    ]);
    expect(assets.get('format.js')).toMatchObject({ contentType: 'text/javascript; charset=utf-8' });
    expect(assets.get('favicon.svg')).toMatchObject({ contentType: 'image/svg+xml' });
    expect(assets.get('dashboard.js')!.version).not.toBe(assets.get('format.js')!.version);
    expect(pageAssets(assets).script).toBe(`assets/dashboard.js?v=${assets.get('dashboard.js')!.version}`);
  });

  it('starts without the page when its browser code was not built', () => {
    const assets = loadDashboardAssets(join(pageDir, 'not-built'));
    expect([...assets.keys()]).toEqual(['uPlot.iife.min.js', 'uPlot.min.css']);
    expect(pageAssets(assets).script).toBe('assets/dashboard.js');
  });
});

describe('answerAsset', () => {
  const asset: Asset = { body: Buffer.from('export {};'), contentType: 'text/javascript', version: 'abc123' };

  it('lets a link with the current version be kept for a day', () => {
    const answer = answerAsset(asset, 'abc123', undefined);
    expect(answer).toEqual({
      status: 200,
      headers: {
        etag: '"abc123"',
        'cache-control': 'private, max-age=86400',
        'content-type': 'text/javascript',
      },
      body: asset.body,
    });
  });

  it('has an imported module (no version) or an old version revalidated on every load', () => {
    for (const version of [undefined, 'old', ['abc123', 'abc123']]) {
      expect(answerAsset(asset, version, undefined)).toMatchObject({
        status: 200,
        headers: { etag: '"abc123"', 'cache-control': 'private, no-cache' },
      });
    }
  });

  it('answers 304 without a body when the browser holds this version', () => {
    for (const ifNoneMatch of ['"abc123"', 'W/"abc123"', '"other", "abc123"', '*']) {
      const answer = answerAsset(asset, undefined, ifNoneMatch);
      expect({ ifNoneMatch, status: answer.status, body: answer.body }).toEqual({
        ifNoneMatch,
        status: 304,
        body: undefined,
      });
    }
    expect(answerAsset(asset, undefined, '"abc12"').status).toBe(200);
  });
});
