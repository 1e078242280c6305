import { Inject, Injectable, Scope } from '@nestjs/common';
import { PARAMS_PROVIDER_TOKEN, PinoLogger, type Params, type RunInContextOptions } from 'nestjs-pino';
import type pino from 'pino';
import { logContext } from './log-context';
import { LogLevelPolicy } from './log-level.policy';

/**
 * A named logger (`smtp`, `delivery`, `templates`, ...) whose level comes from `LOG_LEVELS`, the logging YAML
 * or `LOG_LEVEL`, in that order. Inside a request or a job every line carries that context's fields (the
 * request id, the service, the email id in a job; see log-context.ts).
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

  /** Adds fields to every further line of the current request or job. */
  override assign(fields: Record<string, unknown>): void {
    logContext.assign(fields);
  }

  /** Runs `fn` in a context of its own whose lines carry `bindings` (a job: its email id). */
  override runInContext<T>(fn: () => T, options: RunInContextOptions = {}): T {
    return logContext.run({ ...options.bindings }, fn);
  }

  protected override call(method: pino.Level, ...args: Parameters<PinoLogger['info']>): void {
    if (this.policy.value(method) < this.threshold) return;
    super.call(method, ...(args as [string]));
  }
}
