import { Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import type { ProviderName } from '../config/env.schema';
import { AppLogger } from '../logging/app-logger';
import { EMAIL_PROVIDERS, type EmailProvider } from './email-provider';
import { MailgunProvider } from './mailgun.provider';
import { ProviderRegistry } from './provider-registry';
import { SendGridProvider } from './sendgrid.provider';
import { SesProvider } from './ses.provider';
import { SmtpProvider } from './smtp.provider';

const FACTORIES: Readonly<Record<ProviderName, (config: AppConfig, logger: AppLogger) => EmailProvider>> = {
  smtp: (config, logger) => new SmtpProvider(config, logger),
  sendgrid: (config, logger) => new SendGridProvider(config, logger),
  mailgun: (config, logger) => new MailgunProvider(config, logger),
  ses: (config, logger) => new SesProvider(config, logger),
};

/**
 * Builds the enabled providers (the chain, and any other whose settings are complete). Creating one opens
 * nothing: connections start on the first send. Each has a logger named after it (LOG_LEVELS=sendgrid=debug).
 */
@Module({
  providers: [
    {
      provide: EMAIL_PROVIDERS,
      inject: [AppConfig, ModuleRef],
      useFactory: (config: AppConfig, moduleRef: ModuleRef): Promise<EmailProvider[]> =>
        Promise.all(
          config.providers.enabled.map(async (name) => {
            // AppLogger is transient: each resolve gives a logger of its own, named after its provider.
            const logger = await moduleRef.resolve(AppLogger, undefined, { strict: false });
            logger.setContext(name);
            return FACTORIES[name](config, logger);
          }),
        ),
    },
    ProviderRegistry,
  ],
  exports: [ProviderRegistry],
})
export class ProvidersModule {}
