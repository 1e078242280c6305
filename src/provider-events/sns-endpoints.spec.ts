import { X509Certificate } from 'node:crypto';
import { selfSignedCertificate } from '../../test/support/self-signed-certificate';
import { SnsEndpoints, SnsUnreachableError } from './sns-endpoints';

const DEFAULT_PATTERN = /^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//;
const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123.pem';

/** A fetch that answers from a table and records what was asked. */
function fakeFetch(answers: Record<string, () => Response>) {
  const calls: { url: string; init?: RequestInit }[] = [];
  const fetchUrl = ((input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push({ url, ...(init ? { init } : {}) });
    const answer = answers[url];
    return answer ? Promise.resolve(answer()) : Promise.reject(new TypeError('fetch failed'));
  }) as typeof fetch;
  return { fetchUrl, calls };
}

describe('SnsEndpoints.isTrusted', () => {
  const endpoints = new SnsEndpoints(DEFAULT_PATTERN, fakeFetch({}).fetchUrl);

  it('trusts SNS’s own hosts over https, China’s included', () => {
    expect(endpoints.isTrusted(CERT_URL)).toBe(true);
    expect(endpoints.isTrusted('https://sns.cn-north-1.amazonaws.com.cn/cert.pem')).toBe(true);
  });

  it('trusts no look-alike host, plain http or other scheme', () => {
    for (const url of [
      'http://sns.eu-west-1.amazonaws.com/cert.pem',
      'https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem',
      'https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem',
      'https://sns.eu-west-1.amazonaws.com\\@evil.example/cert.pem',
      'https://snsXeu-west-1.amazonaws.com/cert.pem',
      'https://sqs.eu-west-1.amazonaws.com/cert.pem',
      'ftp://sns.eu-west-1.amazonaws.com/cert.pem',
      'file:///etc/passwd',
      '',
    ])
      expect(endpoints.isTrusted(url)).toBe(false);
  });
});

describe('SnsEndpoints.publicKey', () => {
  const certificate = selfSignedCertificate();
  const expected = new X509Certificate(certificate.pem).publicKey;
  const pem = () => new Response(certificate.pem, { status: 200 });

  it('fetches the certificate once per URL, without following redirects, and returns its key', async () => {
    const { fetchUrl, calls } = fakeFetch({ [CERT_URL]: pem });
    const endpoints = new SnsEndpoints(DEFAULT_PATTERN, fetchUrl);
    const key = await endpoints.publicKey(CERT_URL, Date.now());
    expect(key?.equals(expected)).toBe(true);
    expect((await endpoints.publicKey(CERT_URL, Date.now()))?.equals(expected)).toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.init?.redirect).toBe('manual');
  });

  it('fetches nothing for an untrusted URL', async () => {
    const evil = 'https://evil.example/cert.pem';
    const { fetchUrl, calls } = fakeFetch({ [evil]: pem });
    expect(await new SnsEndpoints(DEFAULT_PATTERN, fetchUrl).publicKey(evil, Date.now())).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('finds no key in a 404, a redirect, a page that is not a certificate, an oversized one or an expired one', async () => {
    const answers: (() => Response)[] = [
      () => new Response('no such key', { status: 404 }),
      () => new Response(null, { status: 302, headers: { location: 'https://evil.example/cert.pem' } }),
      () => new Response('<html>hello</html>', { status: 200 }),
      () => new Response('x'.repeat(100_000), { status: 200 }),
    ];
    for (const answer of answers) {
      const endpoints = new SnsEndpoints(DEFAULT_PATTERN, fakeFetch({ [CERT_URL]: answer }).fetchUrl);
      expect(await endpoints.publicKey(CERT_URL, Date.now())).toBeUndefined();
    }
    const endpoints = new SnsEndpoints(DEFAULT_PATTERN, fakeFetch({ [CERT_URL]: pem }).fetchUrl);
    expect(await endpoints.publicKey(CERT_URL, Date.now() + 30 * 86_400_000)).toBeUndefined();
  });

  it('throws SnsUnreachableError when SNS cannot be reached or fails, and does not cache the failure', async () => {
    let status = 503;
    const { fetchUrl, calls } = fakeFetch({
      [CERT_URL]: () => (status === 200 ? pem() : new Response('busy', { status })),
    });
    const endpoints = new SnsEndpoints(DEFAULT_PATTERN, fetchUrl);
    await expect(endpoints.publicKey(CERT_URL, Date.now())).rejects.toBeInstanceOf(SnsUnreachableError);
    status = 200;
    expect(await endpoints.publicKey(CERT_URL, Date.now())).toBeDefined();
    expect(calls).toHaveLength(2);
    const offline = new SnsEndpoints(DEFAULT_PATTERN, fakeFetch({}).fetchUrl);
    await expect(offline.publicKey(CERT_URL, Date.now())).rejects.toBeInstanceOf(SnsUnreachableError);
  });

  it('keeps at most 32 certificates, dropping the least recently used', async () => {
    const urls = Array.from({ length: 33 }, (_, i) => `https://sns.eu-west-1.amazonaws.com/cert-${i}.pem`);
    const { fetchUrl, calls } = fakeFetch(Object.fromEntries(urls.map((url) => [url, pem])));
    const endpoints = new SnsEndpoints(DEFAULT_PATTERN, fetchUrl);
    for (const url of urls.slice(0, 32)) await endpoints.publicKey(url, Date.now());
    await endpoints.publicKey(urls[0]!, Date.now()); // used again: now the most recent
    await endpoints.publicKey(urls[32]!, Date.now()); // the 33rd: cert-1 goes
    calls.length = 0;
    await endpoints.publicKey(urls[0]!, Date.now());
    expect(calls).toEqual([]);
    await endpoints.publicKey(urls[1]!, Date.now());
    expect(calls.map((c) => c.url)).toEqual([urls[1]]);
  });
});

describe('SnsEndpoints.confirmSubscription', () => {
  const subscribe =
    'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:ses&Token=abc';

  it('GETs a trusted SubscribeURL', async () => {
    const { fetchUrl, calls } = fakeFetch({
      [subscribe]: () => new Response('<ConfirmSubscriptionResponse/>', { status: 200 }),
    });
    expect(await new SnsEndpoints(DEFAULT_PATTERN, fetchUrl).confirmSubscription(subscribe)).toBe(true);
    expect(calls.map((c) => [c.url, c.init?.method ?? 'GET'])).toEqual([[subscribe, 'GET']]);
  });

  it('fetches nothing for an untrusted one, and throws SnsUnreachableError when SNS does not confirm', async () => {
    const evil = 'https://evil.example/?Action=ConfirmSubscription';
    const { fetchUrl, calls } = fakeFetch({ [subscribe]: () => new Response('no', { status: 403 }) });
    const endpoints = new SnsEndpoints(DEFAULT_PATTERN, fetchUrl);
    expect(await endpoints.confirmSubscription(evil)).toBe(false);
    expect(calls).toEqual([]);
    await expect(endpoints.confirmSubscription(subscribe)).rejects.toBeInstanceOf(SnsUnreachableError);
  });
});
