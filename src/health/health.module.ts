import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ProvidersModule } from '../providers/providers.module';
import { QueueModule } from '../queue/queue.module';
import { HealthController } from './health.controller';
import { ProbeServers } from './probe-server';
import { ReadinessService } from './readiness.service';

/** Readiness checks, the API's health routes, and probe listeners for the roles without an API. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), QueueModule, ProvidersModule],
  providers: [ReadinessService, ProbeServers],
  exports: [ReadinessService],
})
export class HealthModule {
  /**
   * With the HTTP routes, for a process that serves the API. The routes import this one module, so a process
   * whose dashboard imports HealthModule too keeps one ReadinessService and one ProbeServers.
   */
  static withRoutes(): DynamicModule {
    return { module: HealthRoutesModule, imports: [HealthModule], controllers: [HealthController] };
  }
}

@Module({})
class HealthRoutesModule {}
