import { Injectable } from '@nestjs/common';
import { AppLogger } from '../logging/app-logger';

/**
 * The limits fail open: when Redis does not answer, every limiter of the process lets requests through (an
 * outage must not turn every call into a 429), and this says so once, then once when they are checked again,
 * for all limiters together.
 */
@Injectable()
export class UncheckedLimits {
  private isUnchecked = false;

  constructor(private readonly logger: AppLogger) {
    this.logger.setContext('rate-limit');
  }

  /** A limit could not be checked: the request goes on unchecked. */
  letThrough(error: unknown): void {
    if (this.isUnchecked) return;
    this.isUnchecked = true;
    this.logger.warn(
      { err: { message: error instanceof Error ? error.message : String(error) } },
      'request limits unchecked: Redis did not answer, so requests are let through',
    );
  }

  /** A limit was checked: Redis answers (again). */
  checked(): void {
    if (!this.isUnchecked) return;
    this.isUnchecked = false;
    this.logger.info('request limits are checked again');
  }
}
