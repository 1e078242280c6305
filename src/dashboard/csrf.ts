import type { IncomingHttpHeaders } from 'node:http';

/** The header the dashboard's own page sets on every POST; a cross-site page cannot set it (see below). */
export const DASHBOARD_REQUEST_HEADER = 'x-requested-with';
export const DASHBOARD_REQUEST_VALUE = 'FreeFaceDashboard';

/**
 * Whether a state-changing request comes from the dashboard's own page. A browser attaches the remembered
 * basic-auth credentials to any request to this origin, cross-site form posts included, so credentials alone
 * prove nothing. The request must carry the custom header the page's `fetch` sets: a page of another origin
 * can only send it after a CORS preflight, which this server never grants, and an HTML form cannot send it
 * at all. Where the browser also reports `Sec-Fetch-Site` or `Origin`, they must say "same origin".
 */
export function isSameOriginRequest(headers: IncomingHttpHeaders): boolean {
  if (headers[DASHBOARD_REQUEST_HEADER] !== DASHBOARD_REQUEST_VALUE) return false;
  const fetchSite = headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin') return false;
  const origin = headers.origin;
  if (origin !== undefined) return originHost(origin) === headers.host;
  return true;
}

function originHost(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.origin === 'null' ? undefined : url.host;
  } catch {
    return undefined;
  }
}
