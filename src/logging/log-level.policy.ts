import { Injectable } from '@nestjs/common';
import type pino from 'pino';
import { AppConfig } from '../config/app-config';
import { levelValue } from '../config/log-levels';

/** Which level each named logger logs at: its own entry in the configuration, else the default level. */
@Injectable()
export class LogLevelPolicy {
  constructor(private readonly config: AppConfig) {}

  thresholdFor(loggerName: string): number {
    return levelValue(this.config.logging.levels[loggerName.toLowerCase()] ?? this.config.logging.level);
  }

  value(level: pino.Level): number {
    return levelValue(level);
  }
}
