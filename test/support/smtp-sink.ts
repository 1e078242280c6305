import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { freePort, waitUntil } from './ports';

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  /** Whether the session was encrypted (STARTTLS) when the message came. */
  secure: boolean;
  parsed: ParsedMail;
  raw: string;
  receivedAt: number;
}

/** What the sink answers to one DATA: undefined accepts it. */
/** The X-Email-Id header of a delivered message: the id FreeFace gave the email. */
export function emailIdOf(message: ReceivedMail): string {
  const id = message.parsed.headers.get('x-email-id');
  return typeof id === 'string' ? id : '';
}

export type DataReply = { code: number; message: string } | undefined;

/**
 * A real SMTP server (smtp-server) that parses what it receives (mailparser), so tests check the delivered
 * message the way a mail client would see it. Its answers and its pace can be scripted per message.
 */
export class SmtpSink {
  /** Every message accepted, parsed (empty in counting mode: see `start({ keep: false })`). */
  readonly messages: ReceivedMail[] = [];
  /** Messages accepted, by X-Email-Id (kept in both modes; a count above 1 is a duplicate). */
  readonly receipts = new Map<string, number>();
  /** Messages accepted in all. */
  accepted = 0;
  /** Decides the reply to the n-th DATA (counting from 1, rejected ones included). */
  reply: (dataCount: number) => DataReply = () => undefined;
  /** Milliseconds to wait before answering each DATA: a slow server, so sends are in flight. */
  delayMs = 0;
  /** Messages being received or waiting for their answer right now. */
  inFlight = 0;
  private dataCount = 0;

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
    private readonly keep: boolean,
  ) {}

  /**
   * `keep: false` is a counting mode for volume tests: a message is not stored or parsed, only its
   * X-Email-Id is read from the header and counted in `receipts` (100,000 parsed messages would take
   * gigabytes of the test's memory and most of its CPU).
   */
  static async start(
    options: {
      auth?: { user: string; pass: string };
      port?: number;
      keep?: boolean;
      /** Offer STARTTLS with this certificate and key (PEM); without it the sink offers none. */
      tls?: { cert: string; key: string };
    } = {},
  ): Promise<SmtpSink> {
    const port = options.port ?? (await freePort());
    // eslint-disable-next-line prefer-const -- assigned once the server it is passed to exists
    let sink: SmtpSink | undefined;
    const server = new SMTPServer({
      logger: false,
      // Stopping the sink must not wait for the workers' pooled connections to go away on their own.
      closeTimeout: 500,
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
      disabledCommands: [...(options.tls ? [] : ['STARTTLS']), ...(options.auth ? [] : ['AUTH'])],
      authOptional: !options.auth,
      onAuth(auth, _session, callback) {
        if (auth.username === options.auth?.user && auth.password === options.auth?.pass)
          callback(null, { user: auth.username });
        else callback(Object.assign(new Error('Invalid credentials'), { responseCode: 535 }));
      },
      onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
        sink!.inFlight++;
        void sink!
          .receive(stream, session)
          .finally(() => sink!.inFlight--)
          .then(() => callback(), callback);
      },
    });
    // A client dropping its connection mid-conversation (a worker killed with -9, a pool closing) makes
    // smtp-server emit 'error': expected in these tests, and fatal to the test process without a listener.
    server.on('error', () => undefined);
    sink = new SmtpSink(server, port, options.keep ?? true);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return sink;
  }

  async waitForMessages(count: number, timeoutMs = 20_000): Promise<ReceivedMail[]> {
    await waitUntil(() => this.messages.length >= count, timeoutMs, `${count} messages at the SMTP sink`);
    return this.messages;
  }

  /** Waits until this many messages were accepted (in either mode). */
  async waitForCount(count: number, timeoutMs = 20_000): Promise<void> {
    await waitUntil(() => this.accepted >= count, timeoutMs, `${count} messages at the SMTP sink`);
  }

  find(emailId: string): ReceivedMail | undefined {
    return this.messages.find((m) => m.parsed.headers.get('x-email-id') === emailId);
  }

  clear(): void {
    this.messages.length = 0;
    this.receipts.clear();
    this.accepted = 0;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const chunks: Buffer[] = [];
    let header: string | undefined;
    let headerBytes = 0;
    for await (const chunk of stream) {
      if (this.keep) chunks.push(chunk as Buffer);
      else if (header === undefined) {
        // Only the header is kept in counting mode, and only until its end is seen.
        chunks.push(chunk as Buffer);
        headerBytes += (chunk as Buffer).length;
        const text = Buffer.concat(chunks).toString('utf8');
        const end = text.search(/\r?\n\r?\n/);
        if (end >= 0 || headerBytes > 64 * 1024) {
          header = end >= 0 ? text.slice(0, end) : text;
          chunks.length = 0;
        }
      }
    }
    const count = ++this.dataCount;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const reply = this.reply(count);
    if (reply) throw Object.assign(new Error(reply.message), { responseCode: reply.code });
    this.accepted++;
    if (!this.keep) {
      const id =
        /^x-email-id:[ \t]*(\S+)/im.exec(header ?? Buffer.concat(chunks).toString('utf8'))?.[1] ?? '';
      this.receipts.set(id, (this.receipts.get(id) ?? 0) + 1);
      return;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    this.messages.push({
      envelope: {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
      },
      secure: session.secure,
      parsed: await simpleParser(raw),
      raw,
      receivedAt: Date.now(),
    });
    const id = emailIdOf(this.messages[this.messages.length - 1]!);
    this.receipts.set(id, (this.receipts.get(id) ?? 0) + 1);
  }
}
