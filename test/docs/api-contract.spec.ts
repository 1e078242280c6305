import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractSections, openApiRoutes, type Route } from './api-contract';
import { apiOpenApiDocument } from './openapi-document';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/**
 * The endpoint table of docs/API.md gives its paths relative to `/api/v1` "unless shown otherwise"; these are
 * shown otherwise (at the root): the health probes, the metrics and Swagger's pages.
 */
const ROOT_PATHS = ['/health', '/health/ready', '/metrics', '/docs', '/docs-json'];

/** Named by the contract and served, but not operations of the OpenAPI document: Swagger UI and the document. */
const OUTSIDE_THE_DOCUMENT: Route[] = ['GET /docs', 'GET /docs-json'];

/** Routes the service has beyond the contract, each with the page that documents it for users. */
const BEYOND_THE_CONTRACT: Record<Route, string> = {
  'POST /api/v1/webhooks/{id}/resume': 'docs/WEBHOOKS.md',
};

const sorted = (routes: Iterable<Route>) => [...new Set(routes)].sort();

describe('docs/API.md, the contract, in step with the OpenAPI document', () => {
  const sections = contractSections(read('docs/API.md'), ROOT_PATHS);
  const built = sorted(sections.filter((s) => !s.planned).flatMap((s) => s.routes));
  let served: Route[];

  beforeAll(async () => {
    served = sorted(openApiRoutes(await apiOpenApiDocument()));
  });

  it('reads the routes of every section, and knows which sections are planned', () => {
    expect(built).toEqual(
      expect.arrayContaining([
        'POST /api/v1/emails',
        'GET /api/v1/webhooks/{id}',
        'DELETE /api/v1/webhooks/{id}',
        'GET /health/ready',
        'POST /webhooks/sendgrid',
      ]),
    );
    expect(sections.filter((s) => s.planned).map((s) => s.heading)).toEqual(
      expect.arrayContaining(['Finding emails (planned)', 'Managed templates (planned)']),
    );
    expect(built).not.toContain('POST /api/v1/templates/{name}/publish');
  });

  it('has every route it does not mark planned in the OpenAPI document (Swagger’s own pages apart)', () => {
    expect(built.filter((route) => !served.includes(route))).toEqual(sorted(OUTSIDE_THE_DOCUMENT));
  });

  it('names every route of the OpenAPI document outside its planned sections, or lists it beyond the contract', () => {
    expect(served.length).toBeGreaterThan(20);
    expect(served.filter((route) => !built.includes(route))).toEqual(
      sorted(Object.keys(BEYOND_THE_CONTRACT)),
    );
  });

  it('documents each route beyond the contract on the page listed for it', () => {
    for (const [route, page] of Object.entries(BEYOND_THE_CONTRACT))
      expect([route, read(page).includes(route)]).toEqual([route, true]);
  });
});

describe('contractSections', () => {
  const markdown = [
    '# The contract',
    'Not a section: `GET /nowhere`.',
    '## Endpoints (all under `/api/v1` unless shown otherwise)',
    '| `GET /things?limit=&cursor=` | read |',
    '| `PUT /things/{name}`, `GET|DELETE /things/{name}` | admin |',
    '| `GET /health` | none |',
    '## Elsewhere',
    'Callbacks: `POST /hooks/x` `{ body }` → 200; not a route: `GET`, `/alone`, `GET /a b`.',
    '```bash',
    'curl `GET /in-a-block`',
    '```',
    '## Later (planned)',
    '`POST /things/{name}/publish`',
  ].join('\n');

  it('names each route of a code span, relative to the prefix its heading gives, with planned sections marked', () => {
    expect(contractSections(markdown, ['/health'])).toEqual([
      {
        heading: 'Endpoints (all under `/api/v1` unless shown otherwise)',
        planned: false,
        routes: [
          'GET /api/v1/things',
          'PUT /api/v1/things/{name}',
          'GET /api/v1/things/{name}',
          'DELETE /api/v1/things/{name}',
          'GET /health',
        ],
      },
      { heading: 'Elsewhere', planned: false, routes: ['POST /hooks/x'] },
      { heading: 'Later (planned)', planned: true, routes: ['POST /things/{name}/publish'] },
    ]);
  });
});

describe('openApiRoutes', () => {
  it('lists each operation of each path, and nothing else a path item holds', () => {
    const paths = {
      '/a': { get: {}, post: {}, parameters: [] },
      '/a/{id}': { delete: {}, summary: 'one' },
    } as unknown as Parameters<typeof openApiRoutes>[0]['paths'];
    expect(openApiRoutes({ paths })).toEqual(['GET /a', 'POST /a', 'DELETE /a/{id}']);
  });
});
