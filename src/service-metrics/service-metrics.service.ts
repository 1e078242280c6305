import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { ServiceMetricsRecorder, type ServiceFigures } from './service-metrics.recorder';

/** The per-service figures, summed over every replica: one's own, or everyone's for an admin. */
@Injectable()
export class ServiceMetricsService {
  constructor(private readonly recorder: ServiceMetricsRecorder) {}

  figures(caller: Caller): Promise<Record<string, ServiceFigures>> {
    return this.recorder.figures(caller.isAdmin ? undefined : [caller.service]);
  }
}
