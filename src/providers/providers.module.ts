import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { EMAIL_PROVIDERS, type EmailProvider } from './email-provider';
import { ProviderRegistry } from './provider-registry';
import { SmtpProvider } from './smtp.provider';

/** Builds the providers the configuration selects. Creating one opens nothing: connections start on first send. */
@Module({
  providers: [
    {
      provide: EMAIL_PROVIDERS,
      inject: [AppConfig, AppLogger],
      useFactory: (config: AppConfig, logger: AppLogger): EmailProvider[] => {
        logger.setContext('smtp');
        return [new SmtpProvider(config, logger)];
      },
    },
    ProviderRegistry,
  ],
  exports: [ProviderRegistry],
})
export class ProvidersModule {}
