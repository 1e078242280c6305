import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from '../ports';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  receivedAt: number;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * A local HTTP server standing in for a provider's API: it records every request and answers through
 * `respond`, which a provider's fake implements by checking the wire format the provider documents. A test
 * can override the answer of the next requests (`failNext`) to play outages and rejections.
 */
export class HttpFake {
  readonly requests: RecordedRequest[] = [];
  private readonly overrides: FakeResponse[] = [];
  private server?: Server;
  port = 0;

  constructor(private readonly respond: (request: RecordedRequest) => FakeResponse) {}

  async start(): Promise<this> {
    this.port = await freePort();
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Answers the next `count` requests with `response` instead of the normal one. */
  failNext(count: number, response: FakeResponse): void {
    for (let i = 0; i < count; i++) this.overrides.push(response);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks),
      receivedAt: Date.now(),
    };
    this.requests.push(request);
    let response: FakeResponse;
    try {
      response = this.overrides.shift() ?? this.respond(request);
    } catch (error) {
      // A wire-format violation: answer 400 with the reason, as the real API would refuse the request.
      response = {
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fake: String(error) }),
      };
    }
    res.writeHead(response.status, response.headers ?? {});
    res.end(response.body ?? '');
  }
}
