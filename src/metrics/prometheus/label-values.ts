import { PROVIDER_NAMES } from '../../config/env.schema';
import { PRIORITIES } from '../../queue/queue-names';

/** The label value for anything outside a label's known set: one series for all of it, never one each. */
export const OTHER = 'other';
/** The `route` of a request that matched no route (404s, scanners): raw URLs never become labels. */
export const UNMATCHED_ROUTE = 'unmatched';

const HTTP_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
]);
const PROVIDERS: ReadonlySet<string> = new Set(PROVIDER_NAMES);
const PRIORITY_SET: ReadonlySet<string> = new Set(PRIORITIES);
/** The shape of a service name (`SERVICE_TOKEN_BILLING_API_*` → `billing-api`). */
const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const providerLabel = (provider: string | undefined): string =>
  provider !== undefined && PROVIDERS.has(provider) ? provider : OTHER;

export const priorityLabel = (priority: string | undefined): string =>
  priority !== undefined && PRIORITY_SET.has(priority) ? priority : OTHER;

export const methodLabel = (method: string): string => (HTTP_METHODS.has(method) ? method : OTHER);

/** The route pattern (`/api/v1/emails/:id`), never the URL with its ids. */
export const routeLabel = (pattern: string | undefined): string => pattern || UNMATCHED_ROUTE;

/**
 * Bounds the `service` label. The configured services (and `anonymous`, the caller when authentication is
 * off) are always themselves. A worker may run without the service tokens, yet sees the names the API wrote
 * on each email; so other well-formed names are accepted too, up to `maxOthers` of them, after which (and for
 * any malformed name) the value is `other`. Either way a process exports a bounded number of series.
 */
export class ServiceLabels {
  private readonly known: Set<string>;
  private others = 0;

  constructor(
    configured: Iterable<string>,
    private readonly maxOthers = 100,
  ) {
    this.known = new Set([...configured, 'anonymous']);
  }

  label(service: string | undefined): string {
    if (service === undefined) return OTHER;
    if (this.known.has(service)) return service;
    if (this.others >= this.maxOthers || !SERVICE_NAME.test(service)) return OTHER;
    this.others++;
    this.known.add(service);
    return service;
  }
}
