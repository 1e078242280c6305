import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { EmailsModule } from '../emails/emails.module';
import { ServiceMetricsModule } from '../metrics/service-metrics.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { SmtpIngressServer } from './smtp-ingress.server';
import { SmtpIngressStats } from './smtp-ingress.stats';

/** The smtp role: the SMTP ingress server, accepting through the same EmailAcceptanceService as the REST API. */
@Module({
  imports: [EmailsModule, AuthModule, RateLimitModule, ServiceMetricsModule],
  providers: [SmtpIngressServer, SmtpIngressStats],
})
export class SmtpIngressModule {}

/** The ingress's totals, for the dashboard of the monitor role (which runs no SMTP server). */
@Module({ providers: [SmtpIngressStats], exports: [SmtpIngressStats] })
export class SmtpIngressStatsModule {}
