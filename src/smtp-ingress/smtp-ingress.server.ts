import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { simpleParser } from 'mailparser';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import {
  SMTPServer,
  type SMTPServerAuthentication,
  type SMTPServerAuthenticationResponse,
  type SMTPServerDataStream,
  type SMTPServerSession,
} from 'smtp-server';
import { validationPipe } from '../common/validation-pipe';
import type { Caller } from '../auth/caller';
import { ServiceTokenVerifier } from '../auth/service-token.verifier';
import { AppConfig } from '../config/app-config';
import { SendEmailDto } from '../emails/dto/send-email.dto';
import { EmailAcceptanceService } from '../emails/email-acceptance.service';
import { AppLogger } from '../logging/app-logger';
import { ServiceMetricsRecorder } from '../service-metrics/service-metrics.recorder';
import { AuthFailureLimiter } from '../rate-limit/auth-failure-limiter';
import { RequestLimiter } from '../rate-limit/request-limiter';
import { inboundEmail, PARSER_OPTIONS } from './inbound-message';
import { smtpLogin } from './smtp-authenticator';
import { SmtpIngressStats } from './smtp-ingress.stats';
import { smtpError, smtpReplyFor, withEnhancedCode } from './smtp-replies';

/** The most recipients one message may have, as on the API (to, cc and bcc together). */
const MAX_RECIPIENTS = 50;
/** What the per-service call counts name SMTP messages as, beside the REST endpoints. */
export const SMTP_ENDPOINT = 'SMTP DATA';
/** The API's limiter sets RateLimit-* headers; SMTP has none to set. */
const NO_HEADERS = { header: () => undefined };

/**
 * The SMTP ingress (role smtp, SMTP_INGRESS_PORT): services that can only speak SMTP log in with their name
 * and token and hand over messages, which join the same pipeline as REST calls (the same validation, rate
 * limit, quota, audit trail, queues). Each accepted message is answered `250 2.0.0 queued as <id>`.
 * Built on smtp-server (nodemailer's), which does the protocol: STARTTLS, AUTH PLAIN and LOGIN, SIZE,
 * pipelining, timeouts.
 */
@Injectable()
export class SmtpIngressServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly server: SMTPServer;
  private readonly maxBytes: number;
  private messages = 0;
  /** Messages being stored right now: shutdown waits for them, so that none is answered 421 once stored. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly config: AppConfig,
    private readonly verifier: ServiceTokenVerifier,
    private readonly limiter: RequestLimiter,
    private readonly failures: AuthFailureLimiter,
    private readonly emails: EmailAcceptanceService,
    private readonly calls: ServiceMetricsRecorder,
    private readonly stats: SmtpIngressStats,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('smtp-ingress');
    this.maxBytes = config.http.maxBodyBytes;
    const tls = config.smtpIngress.tls;
    this.server = new SMTPServer({
      name: hostname(),
      banner: 'FreeFace SMTP ingress',
      size: this.maxBytes,
      authMethods: ['PLAIN', 'LOGIN'],
      // Without TLS (development only: production and staging require a certificate) the token would cross
      // in clear.
      allowInsecureAuth: !tls,
      ...(tls ? { key: tls.key, cert: tls.cert } : { disabledCommands: ['STARTTLS'] }),
      // Written by the ingress itself (see smtp-replies.ts), so that the accepted reply is 2.0.0.
      hideENHANCEDSTATUSCODES: true,
      // Idle sessions are told 421 on their next command at once; a session still sending gets this long.
      closeTimeout: Math.min(10_000, config.shutdownTimeoutMs),
      logger: false,
      onConnect: (_session, callback) => {
        this.stats.count('sessions');
        callback();
      },
      onAuth: (auth, session, callback) =>
        void this.authenticate(auth, session).then(
          (response) => callback(null, response),
          (error: Error) => callback(error),
        ),
      onRcptTo: (_address, session, callback) => {
        callback(
          session.envelope.rcptTo.length >= MAX_RECIPIENTS
            ? smtpError(452, `At most ${MAX_RECIPIENTS} recipients per message`)
            : undefined,
        );
      },
      onData: (stream, session, callback) => {
        const receiving = this.receive(stream, session).then(
          (reply) => callback(null, reply),
          (error: Error) => callback(error),
        );
        this.inFlight.add(receiving);
        void receiving.finally(() => this.inFlight.delete(receiving));
      },
    });
    this.server.on('error', (error) => this.logger.warn({ reason: error.message }, 'smtp connection error'));
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.smtpIngress.port;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '0.0.0.0', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.logger.info({ port, starttls: !!this.config.smtpIngress.tls }, 'smtp ingress listening');
  }

  /**
   * Stops taking connections; a command arriving now is answered 421 (the client tries again later, at
   * another replica), and messages being received finish, within SHUTDOWN_TIMEOUT_MS.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Messages already being stored finish and get their 250 before Redis closes behind them.
    await Promise.all(this.inFlight);
    await closed;
  }

  private async authenticate(
    auth: SMTPServerAuthentication,
    session: SMTPServerSession,
  ): Promise<SMTPServerAuthenticationResponse> {
    const login = smtpLogin(auth.username ?? '', auth.password ?? '', this.verifier, this.config.auth);
    const address = session.remoteAddress;
    // smtp-server keeps what this returns as session.user: the caller, for the messages of the session.
    if (login.ok) return { user: login.caller };
    this.stats.count('authFailures');
    this.logger.warn(
      { reason: login.reason, ip: address, user: auth.username?.slice(0, 64) },
      'smtp login refused',
    );
    // Failed logins count against the address as on the API (AUTH_FAILURE_LIMIT); past it, the client is
    // sent away (421) rather than told its password is wrong again. A correct login never gets here.
    await this.failures.countFailure(address, 'smtp', login.reason).catch(() => {
      throw smtpError(421, 'Too many failed logins from this address, try later');
    });
    throw smtpError(
      535,
      login.reason === 'no-send-scope'
        ? 'This token lacks the send scope'
        : 'Authentication failed: the user is the service name, the password its token',
    );
  }

  /** One message: read (within the size limit), parsed, checked as the API checks a request, accepted. */
  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const requestId = `smtp-${session.id}-${++this.messages}`;
    try {
      const raw = await readAll(stream);
      if (stream.sizeExceeded) throw smtpError(552, `Message larger than ${this.maxBytes} bytes`);
      const caller = session.user as unknown as Caller;
      const parsed = await simpleParser(raw, PARSER_OPTIONS).catch(() => {
        // The same bytes will not parse later either: a permanent refusal, not a 451 retried forever.
        throw smtpError(554, 'Message refused: it is not a MIME message that can be read');
      });
      const inbound = inboundEmail(
        parsed,
        session.envelope.rcptTo.map((recipient) => recipient.address),
      );
      if (typeof inbound === 'string') throw smtpError(554, `Message refused: ${inbound}`);
      this.calls.recordCall(caller.service, SMTP_ENDPOINT, Date.now());
      await this.limiter.admit(caller.service, NO_HEADERS);
      const dto = (await validationPipe.transform(inbound.request, {
        type: 'body',
        metatype: SendEmailDto,
      })) as SendEmailDto;
      const accepted = await this.emails.accept(caller, dto, requestId);
      this.stats.count('accepted');
      this.logger.info({ emailId: accepted.id, service: caller.service, requestId }, 'smtp message accepted');
      return withEnhancedCode(250, `queued as ${accepted.id}`);
    } catch (error) {
      const reply = isSmtpError(error) ? error : smtpReplyFor(error);
      this.stats.count('refused');
      this.logger.info(
        { requestId, code: reply.responseCode, reason: reply.message },
        'smtp message refused',
      );
      throw reply;
    }
  }
}

const isSmtpError = (error: unknown): error is Error & { responseCode: number } =>
  error instanceof Error && typeof (error as { responseCode?: unknown }).responseCode === 'number';

/** The whole message; a stream past the size limit is drained (smtp-server marks it) rather than kept. */
async function readAll(stream: Readable & { sizeExceeded?: boolean }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) if (!stream.sizeExceeded) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
