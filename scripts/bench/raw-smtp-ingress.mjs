// The raw floor of taking email over SMTP: smtp-server (no TLS, no AUTH) whose DATA handler parses the message
// with mailparser and adds one Bull job carrying the parsed email, then answers 250. No validation, no record,
// no audit, no rate limit: what "smtp-server + mailparser + a Bull add" costs on this machine. Prints
// {"listening":PORT} once listening.
//   PORT=2526 REDIS_URL=redis://127.0.0.1:6379 QUEUE_PREFIX={raw} node scripts/bench/raw-smtp-ingress.mjs
import Bull from 'bull';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const env = process.env;
const queue = new Bull('raw-smtp', env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  prefix: env.QUEUE_PREFIX ?? '{raw}',
});
await queue.isReady();

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  size: 10 * 1024 * 1024,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', async () => {
      try {
        const parsed = await simpleParser(Buffer.concat(chunks), {
          skipHtmlToText: true,
          skipTextToHtml: true,
        });
        const job = await queue.add({
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: parsed.subject,
          text: parsed.text,
          html: parsed.html,
        });
        callback(null, `queued as ${job.id}`);
      } catch (error) {
        callback(error);
      }
    });
  },
});
const port = Number(env.PORT ?? 2526);
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: port })}\n`));
process.once('SIGTERM', () => server.close(() => queue.close().then(() => process.exit(0))));
