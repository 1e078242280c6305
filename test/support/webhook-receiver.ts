import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { freePort, waitUntil } from './ports';

export interface ReceivedWebhook {
  id: string;
  timestamp: number;
  signature: string;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, unknown> };
  headers: IncomingHttpHeaders;
  /** What the receiver answered. */
  answered: number;
}

/**
 * The receiver's side of docs/WEBHOOKS.md, written from the documentation alone: the signature is
 * `v1,<base64 HMAC-SHA256>` keyed with the base64-decoded part of the `whsec_` secret over
 * `<webhook-id>.<webhook-timestamp>.<raw body>`; the header may list several, space-separated.
 */
export function verifySignature(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  if (Math.abs(nowSeconds - Number(headers.timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${headers.id}.${headers.timestamp}.${body}`).digest();
  return headers.signature.split(' ').some((candidate) => {
    const [version, mac] = candidate.split(',');
    const given = Buffer.from(mac ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * A local webhook receiver that records every POST. `answer` decides the reply (a status, or 'hang' to never
 * answer); `stop()` and `start()` again on the same port play a receiver that is down for a while. `open`
 * counts the requests in progress (from their first byte until their connection closes or they are
 * answered) and `maxOpen` the most there ever were at once.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: () => number | 'hang' = () => 200;
  open = 0;
  maxOpen = 0;
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();

  private constructor(readonly port: number) {}

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(await freePort());
    await receiver.listen();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Requests answered with a 2xx, by event id: a count above 1 is a duplicate delivery. */
  acknowledged(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const hook of this.received)
      if (hook.answered >= 200 && hook.answered < 300) counts.set(hook.id, (counts.get(hook.id) ?? 0) + 1);
    return counts;
  }

  async waitFor(
    predicate: (hook: ReceivedWebhook) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<ReceivedWebhook> {
    await waitUntil(() => this.received.some(predicate), timeoutMs, what);
    return this.received.find(predicate)!;
  }

  async listen(): Promise<void> {
    this.server = createServer((request, response) => {
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      response.once('close', () => this.open--);
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const answer = this.answer();
        const body = Buffer.concat(chunks).toString('utf8');
        this.received.push({
          id: String(request.headers['webhook-id']),
          timestamp: Number(request.headers['webhook-timestamp']),
          signature: String(request.headers['webhook-signature']),
          body,
          json: JSON.parse(body) as ReceivedWebhook['json'],
          headers: request.headers,
          answered: answer === 'hang' ? 0 : answer,
        });
        if (answer === 'hang') this.hanging.add(response);
        else response.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.hanging.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
