import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/caller';
import { ServiceMetricsRecorder } from './service-metrics.recorder';

/** Counts each authenticated call per service and per endpoint (`POST /api/v1/emails/:id`). */
@Injectable()
export class ServiceCallsInterceptor implements NestInterceptor {
  constructor(private readonly recorder: ServiceMetricsRecorder) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (request.caller) {
      this.recorder.recordCall(
        request.caller.service,
        `${request.method} ${request.routeOptions.url ?? request.url}`,
        Date.now(),
      );
    }
    return next.handle();
  }
}
