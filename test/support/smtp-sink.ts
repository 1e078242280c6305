import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { freePort, waitUntil } from './ports';

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
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
  readonly messages: ReceivedMail[] = [];
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
  ) {}

  static async start(
    options: { auth?: { user: string; pass: string }; port?: number } = {},
  ): Promise<SmtpSink> {
    const port = options.port ?? (await freePort());
    // eslint-disable-next-line prefer-const -- assigned once the server it is passed to exists
    let sink: SmtpSink | undefined;
    const server = new SMTPServer({
      logger: false,
      // Stopping the sink must not wait for the workers' pooled connections to go away on their own.
      closeTimeout: 500,
      disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
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
    sink = new SmtpSink(server, port);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return sink;
  }

  async waitForMessages(count: number, timeoutMs = 20_000): Promise<ReceivedMail[]> {
    await waitUntil(() => this.messages.length >= count, timeoutMs, `${count} messages at the SMTP sink`);
    return this.messages;
  }

  find(emailId: string): ReceivedMail | undefined {
    return this.messages.find((m) => m.parsed.headers.get('x-email-id') === emailId);
  }

  clear(): void {
    this.messages.length = 0;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const count = ++this.dataCount;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const reply = this.reply(count);
    if (reply) throw Object.assign(new Error(reply.message), { responseCode: reply.code });
    const raw = Buffer.concat(chunks).toString('utf8');
    this.messages.push({
      envelope: {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
      },
      parsed: await simpleParser(raw),
      raw,
      receivedAt: Date.now(),
    });
  }
}
