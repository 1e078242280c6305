import { X509Certificate, type KeyObject } from 'node:crypto';

/** SNS could not be reached (network error, timeout, 5xx): the message may well be genuine; SNS should retry. */
export class SnsUnreachableError extends Error {
  override readonly name = 'SnsUnreachableError';
}

/** AWS's signing certificates are about 2 KB; anything far larger is not one. */
const CERTIFICATE_MAX_BYTES = 64 * 1024;
/** A hung SNS endpoint must not hold a callback (SNS waits 15 s for our answer by default). */
const REQUEST_TIMEOUT_MS = 5_000;
/** SNS signs with one certificate per region and rotates them rarely: a few dozen is plenty. */
const MAX_CERTIFICATES = 32;

type Fetch = typeof fetch;

/**
 * The only HTTP requests the SES callback makes: the signing certificate at a message's SigningCertURL, and a
 * subscription's SubscribeURL. Both come from an unauthenticated request body, so a URL is fetched only when
 * the whole of it matches SNS_CERT_URL_PATTERN (by default SNS's own hosts over https): otherwise anyone could
 * make the service fetch any URL, or sign with a certificate of their own. Redirects are not followed, for the
 * same reason. Certificates are cached by URL (SNS gives each certificate its own URL), at most 32.
 */
export class SnsEndpoints {
  private readonly certificates = new Map<string, X509Certificate>();

  constructor(
    private readonly pattern: RegExp,
    private readonly fetchUrl: Fetch = fetch,
  ) {}

  /** Whether a URL may be fetched: http(s), and the whole URL matches the pattern. */
  isTrusted(url: string): boolean {
    return /^https?:\/\//i.test(url) && URL.canParse(url) && this.pattern.test(url);
  }

  /**
   * The public key of the certificate at a trusted URL, if that is a certificate valid now; undefined for an
   * untrusted URL (nothing is fetched), an answer that is not a certificate, or an expired one. Throws
   * SnsUnreachableError when SNS could not be asked.
   */
  async publicKey(url: string, nowMs: number): Promise<KeyObject | undefined> {
    if (!this.isTrusted(url)) return undefined;
    let certificate = this.certificates.get(url);
    if (certificate) {
      // Most recently used last: the first entry is the one to drop.
      this.certificates.delete(url);
    } else {
      certificate = await this.download(url);
      if (!certificate) return undefined;
    }
    this.certificates.set(url, certificate);
    if (this.certificates.size > MAX_CERTIFICATES) {
      this.certificates.delete(this.certificates.keys().next().value!);
    }
    const valid = Date.parse(certificate.validFrom) <= nowMs && nowMs <= Date.parse(certificate.validTo);
    return valid ? certificate.publicKey : undefined;
  }

  /**
   * Confirms a subscription by GETting its SubscribeURL (what SNS asks of an HTTP(S) endpoint). False for an
   * untrusted URL, which is not fetched; throws SnsUnreachableError when SNS did not answer with success.
   */
  async confirmSubscription(url: string): Promise<boolean> {
    if (!this.isTrusted(url)) return false;
    const response = await this.get(url);
    // The answer (a small XML document with the subscription's ARN) is not needed.
    await response.body?.cancel();
    if (!response.ok) throw new SnsUnreachableError(`SNS answered the confirmation with ${response.status}`);
    return true;
  }

  private async download(url: string): Promise<X509Certificate | undefined> {
    const response = await this.get(url);
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel();
      throw new SnsUnreachableError(`the signing certificate's host answered ${response.status}`);
    }
    if (!response.ok) {
      // 4xx, or a redirect (not followed): there is no certificate at this URL.
      await response.body?.cancel();
      return undefined;
    }
    const text = await readText(response, CERTIFICATE_MAX_BYTES);
    if (text === undefined) return undefined;
    try {
      return new X509Certificate(text);
    } catch {
      return undefined;
    }
  }

  private async get(url: string): Promise<Response> {
    try {
      return await this.fetchUrl(url, {
        redirect: 'manual',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SnsUnreachableError(`cannot reach SNS: ${reason}`);
    }
  }
}

/** The body as text, or undefined once it exceeds `maxBytes` (the rest is not read). */
async function readText(response: Response, maxBytes: number): Promise<string | undefined> {
  const reader = response.body?.getReader() as ReadableStreamDefaultReader<Uint8Array> | undefined;
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        return undefined;
      }
      chunks.push(value);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SnsUnreachableError(`cannot read the signing certificate: ${reason}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
