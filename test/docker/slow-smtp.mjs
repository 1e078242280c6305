// An SMTP sink that holds every message for DELAY_MS before it answers 250, so that a test can stop a worker
// while a send is in flight. Run in a container of the app's image (smtp-server is one of its dependencies);
// it prints one JSON line per event, which test/docker/break-it.mjs reads through `docker logs`.
import { SMTPServer } from 'smtp-server';

const delayMs = Number(process.env.DELAY_MS ?? 8000);
const port = Number(process.env.PORT ?? 2526);
const log = (event, fields = {}) => console.log(JSON.stringify({ event, at: Date.now(), ...fields }));

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', () => {
      const emailId = /^x-email-id:\s*(\S+)/im.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '';
      log('data', { emailId });
      const timer = setTimeout(() => {
        log('accepted', { emailId });
        callback();
      }, delayMs);
      session.closed = () => clearTimeout(timer);
    });
  },
  onClose(session) {
    session.closed?.();
  },
});
server.listen(port, '0.0.0.0', () => log('listening', { port, delayMs }));
