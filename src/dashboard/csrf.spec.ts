import { isSameOriginRequest } from './csrf';

const fromPage = { 'x-requested-with': 'FreeFaceDashboard', host: 'dash.example.com:8011' };

describe('isSameOriginRequest', () => {
  it("accepts the page's own fetch, with or without the browser's origin headers", () => {
    expect(isSameOriginRequest(fromPage)).toBe(true);
    expect(
      isSameOriginRequest({
        ...fromPage,
        'sec-fetch-site': 'same-origin',
        origin: 'http://dash.example.com:8011',
      }),
    ).toBe(true);
    // Behind a TLS-terminating proxy the scheme differs from the one the server sees; the host does not.
    expect(isSameOriginRequest({ ...fromPage, origin: 'https://dash.example.com:8011' })).toBe(true);
  });

  it('refuses a request without the custom header (a form post, a plain curl)', () => {
    expect(isSameOriginRequest({ host: fromPage.host })).toBe(false);
    expect(isSameOriginRequest({ host: fromPage.host, 'sec-fetch-site': 'same-origin' })).toBe(false);
    expect(isSameOriginRequest({ ...fromPage, 'x-requested-with': 'XMLHttpRequest' })).toBe(false);
  });

  it('refuses a request the browser marks as coming from another site', () => {
    expect(isSameOriginRequest({ ...fromPage, 'sec-fetch-site': 'cross-site' })).toBe(false);
    expect(isSameOriginRequest({ ...fromPage, 'sec-fetch-site': 'same-site' })).toBe(false);
    expect(isSameOriginRequest({ ...fromPage, 'sec-fetch-site': 'none' })).toBe(false);
  });

  it('refuses a foreign, opaque or unreadable Origin', () => {
    expect(isSameOriginRequest({ ...fromPage, origin: 'https://evil.example' })).toBe(false);
    expect(isSameOriginRequest({ ...fromPage, origin: 'http://dash.example.com:9999' })).toBe(false);
    expect(isSameOriginRequest({ ...fromPage, origin: 'null' })).toBe(false);
    expect(isSameOriginRequest({ ...fromPage, origin: 'not a url' })).toBe(false);
  });
});
