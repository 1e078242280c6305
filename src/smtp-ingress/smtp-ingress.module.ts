import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { EmailsModule } from '../emails/emails.module';
import { ServiceMetricsModule } from '../service-metrics/service-metrics.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { SmtpIngressServer } from './smtp-ingress.server';
import { SmtpIngressStats } from './smtp-ingress.stats';

/**
 * The ingress's totals, for the server below and the dashboard. Apart from the server, since importing the
 * server's module starts an SMTP listener, which a monitor process reading the totals must not run.
 */
@Module({ providers: [SmtpIngressStats], exports: [SmtpIngressStats] })
export class SmtpIngressStatsModule {}

/** The smtp role: the SMTP ingress server, accepting through the same EmailAcceptanceService as the REST API. */
@Module({
  imports: [EmailsModule, AuthModule, RateLimitModule, ServiceMetricsModule, SmtpIngressStatsModule],
  providers: [SmtpIngressServer],
})
export class SmtpIngressModule {}
