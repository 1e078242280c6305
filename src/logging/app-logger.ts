import { Inject, Injectable, Scope } from '@nestjs/common';
import { PARAMS_PROVIDER_TOKEN, PinoLogger, type Params } from 'nestjs-pino';
import type pino from 'pino';
import { LogLevelPolicy } from './log-level.policy';

/**
 * A named logger (`smtp`, `delivery`, `templates`, ...) whose level comes from `LOG_LEVELS`, the logging YAML
 * or `LOG_LEVEL`, in that order. Inside a request or a job it writes through that context's pino child, so
 * every line carries the request id (and the email id in a job).
 */
@Injectable({ scope: Scope.TRANSIENT })
export class AppLogger extends PinoLogger {
  private threshold: number;

  constructor(
    @Inject(PARAMS_PROVIDER_TOKEN) params: Params,
    private readonly policy: LogLevelPolicy,
  ) {
    super(params);
    this.threshold = policy.thresholdFor('app');
  }

  override setContext(name: string): void {
    super.setContext(name);
    this.threshold = this.policy.thresholdFor(name);
  }

  /** Lets a caller skip building an expensive log object that would be dropped. */
  isLevelEnabled(level: pino.Level): boolean {
    return this.policy.value(level) >= this.threshold;
  }

  protected override call(method: pino.Level, ...args: Parameters<PinoLogger['info']>): void {
    if (this.policy.value(method) < this.threshold) return;
    super.call(method, ...(args as [string]));
  }
}
