import { format } from 'node:util';
import { createTransport, type Transporter } from 'nodemailer';
import type { AppConfig } from '../config/app-config';
import type { AppLogger } from '../logging/app-logger';
import type { EmailProvider, SendResult } from './email-provider';
import { toMailOptions } from './mail-options';
import type { OutboundEmail } from './outbound-email';
import { classifySmtpError } from './smtp-errors';

type LogEntry = { tnx?: string; cid?: string; sid?: string } | undefined;

/**
 * Routes nodemailer's log to the `smtp` logger: the SMTP conversation at debug, never the message itself
 * (nodemailer logs the DATA stream under `tnx: 'message'`, which is dropped here).
 */
function smtpLogger(logger: AppLogger) {
  const at =
    (level: 'debug' | 'warn' | 'error') =>
    (entry: LogEntry, message: string, ...args: unknown[]) => {
      if (entry?.tnx === 'message') return;
      logger[level]({ tnx: entry?.tnx, connection: entry?.cid }, format(message, ...args));
    };
  const debug = at('debug');
  return {
    level: () => undefined,
    trace: debug,
    debug,
    info: debug,
    warn: at('warn'),
    error: at('error'),
    fatal: at('error'),
  };
}

/**
 * SMTP through a nodemailer pool of SMTP_POOL_SIZE connections. `maxMessages` is unlimited: the default
 * reconnect every 100 messages cost about a quarter of throughput. File and URL access are disabled so
 * that no attachment can make the worker read a local file or fetch a URL. With `requireTLS` a server that
 * does not upgrade the connection gets neither the credentials nor the message: without it nodemailer would
 * go on in plaintext, and anyone on the path could strip STARTTLS from the server's reply to make it so.
 */
export class SmtpProvider implements EmailProvider {
  readonly name = 'smtp' as const;
  private readonly transport: Transporter;

  constructor(config: AppConfig, logger: AppLogger) {
    const { smtp } = config;
    const logsConversation = logger.isLevelEnabled('debug');
    this.transport = createTransport({
      pool: true,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireTls,
      maxConnections: smtp.poolSize,
      maxMessages: Infinity,
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: logsConversation ? smtpLogger(logger) : false,
      debug: logsConversation,
    });
  }

  async send(email: OutboundEmail): Promise<SendResult> {
    try {
      const info = await this.transport.sendMail(toMailOptions(email));
      return { providerMessageId: info.messageId };
    } catch (error) {
      throw classifySmtpError(error);
    }
  }

  async verify(): Promise<void> {
    await this.transport.verify();
  }

  close(): Promise<void> {
    this.transport.close();
    return Promise.resolve();
  }
}
