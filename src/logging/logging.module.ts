import { Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { AppLogger } from './app-logger';
import { httpLoggingParams } from './http-logging';
import { LogLevelPolicy } from './log-level.policy';

/** The root logger and the named loggers (AppLogger); the API's request lines: RequestLoggingMiddleware. */
@Global()
@Module({
  imports: [LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: httpLoggingParams })],
  providers: [LogLevelPolicy, AppLogger],
  exports: [LogLevelPolicy, AppLogger],
})
export class LoggingModule {}
