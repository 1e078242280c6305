import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { signWebhook } from './webhook-signature';
import type { TargetPolicy } from './target-policy';

/** A receiver has this long to answer, as the contract says; past it the attempt failed. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
const USER_AGENT = 'FreeFace-Webhooks/1';

/** `timedOut`: no answer came within WEBHOOK_TIMEOUT_MS (the connection, or the answer, never came). */
export type SendResult =
  { ok: true; status: number } | { ok: false; status?: number; error: string; timedOut?: boolean };

/** Refused by the target policy: not retried differently, but said plainly in the delivery's error. */
class RefusedTargetError extends Error {}

/**
 * POSTs signed webhook bodies. Each connection resolves the host itself and checks every address against the
 * target policy before connecting (so DNS cannot point an allowed name at a metadata service between the
 * check and the connection); redirects are not followed; keep-alive connections are reused.
 */
export class WebhookSender {
  private readonly lookup: LookupFunction;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  constructor(
    private readonly policy: TargetPolicy,
    private readonly timeoutMs = WEBHOOK_TIMEOUT_MS,
  ) {
    this.lookup = (hostname, options, callback) => {
      dnsLookup(hostname, options, (error, address, family) => {
        if (error) return callback(error, address, family);
        const addresses: LookupAddress[] = Array.isArray(address)
          ? address
          : [{ address, family: family ?? 4 }];
        for (const { address: candidate } of addresses) {
          const refused = policy.checkAddress(hostname, candidate);
          if (refused) return callback(new RefusedTargetError(refused), '', 4);
        }
        callback(null, address, family);
      });
    };
    const agentOptions = { keepAlive: true, maxSockets: 50, lookup: this.lookup };
    this.agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
  }

  async send(
    url: string,
    secret: string,
    eventId: string,
    body: string,
    nowMs = Date.now(),
  ): Promise<SendResult> {
    const refused = this.policy.checkUrl(url);
    if (refused) return { ok: false, error: `refused: ${refused}` };
    const timestamp = Math.floor(nowMs / 1000);
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'user-agent': USER_AGENT,
      'webhook-id': eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(secret, eventId, timestamp, body),
    };
    try {
      const status = await this.post(new URL(url), headers, body);
      return status >= 200 && status < 300
        ? { ok: true, status }
        : { ok: false, status, error: `HTTP ${status}` };
    } catch (error) {
      if (error instanceof RefusedTargetError) return { ok: false, error: `refused: ${error.message}` };
      // Anything else is the network's or the receiver's: worth a retry.
      if (isTimeout(error))
        return { ok: false, error: `no answer within ${this.timeoutMs / 1000} s`, timedOut: true };
      return { ok: false, error: describe(error) };
    }
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private post(url: URL, headers: Record<string, string | number>, body: string): Promise<number> {
    const https = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const request = (https ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        headers,
        agent: https ? this.agents.https : this.agents.http,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      request.on('response', (response: IncomingMessage) => {
        // The body is not kept (it could hold anything); reading it frees the connection for the next one.
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(body);
    });
  }
}

/** Whether the request was cut off by its timeout. */
function isTimeout(error: unknown): boolean {
  // Duck-typed: errors from Node's networking are not always of this realm's Error class.
  const { name } = (error ?? {}) as { name?: string };
  return name === 'TimeoutError' || name === 'AbortError';
}

/** An error for the delivery's record: the cause in a few words, never a stack. */
function describe(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  const text = message ?? String(error);
  return (code ? `${code}: ${text}` : text).slice(0, 300);
}
