import type { OpenAPIObject } from '@nestjs/swagger';

/** A route as `METHOD /path`, the path in OpenAPI's template form (`GET /api/v1/emails/{id}`). */
export type Route = string;

/** One `## ` section of docs/API.md and the routes it names. */
export interface ContractSection {
  heading: string;
  /** Marked "(planned)": specified, not built yet. */
  planned: boolean;
  routes: Route[];
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
const METHOD = METHODS.join('|');
/** `GET /x`, `GET|DELETE /x/{id}`, `GET /x?query=`: a code span that is a route, nothing else. */
const ROUTE_SPAN = new RegExp(`^((?:${METHOD})(?:\\|(?:${METHOD}))*) (/[^\\s?]*)(?:\\?\\S*)?$`);

/**
 * The routes docs/API.md names, section by section: every code span that is `METHOD /path` (`GET|DELETE /path`
 * names two; a query is dropped). Fenced code blocks are examples, not names. A section whose heading says its
 * paths are "all under `/prefix`" names them relative to it, except `rootPaths`, which the contract shows at the
 * root.
 */
export function contractSections(markdown: string, rootPaths: readonly string[]): ContractSection[] {
  return markdown
    .replace(/```[\s\S]*?```/g, '')
    .split(/^## /m)
    .slice(1)
    .map((section) => {
      const heading = section.slice(0, section.indexOf('\n')).trim();
      const prefix = /all under `([^`]+)`/.exec(heading)?.[1];
      const routes = new Set<Route>();
      for (const [, span] of section.matchAll(/`([^`]+)`/g)) {
        const match = ROUTE_SPAN.exec(span!.trim());
        if (!match) continue;
        const [, methods, path] = match as unknown as [string, string, string];
        const fullPath =
          prefix && !rootPaths.includes(path) && !path.startsWith(prefix) ? prefix + path : path;
        for (const method of methods.split('|')) routes.add(`${method} ${fullPath}`);
      }
      return { heading, planned: /\(planned\)/i.test(heading), routes: [...routes] };
    });
}

/** Every operation of an OpenAPI document as a route. */
export function openApiRoutes(document: Pick<OpenAPIObject, 'paths'>): Route[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations)
      .map((method) => method.toUpperCase())
      .filter((method) => (METHODS as readonly string[]).includes(method))
      .map((method) => `${method} ${path}`),
  );
}
