import { Global, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { AppLogger } from './app-logger';
import { httpLoggingParams } from './http-logging';
import { LogLevelPolicy } from './log-level.policy';
import { RequestLoggingMiddleware } from './request-logging.middleware';

@Global()
@Module({
  imports: [LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: httpLoggingParams })],
  providers: [LogLevelPolicy, AppLogger],
  exports: [LogLevelPolicy, AppLogger],
})
export class LoggingModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Nest's default pattern is never matched by @fastify/middie under Nest 12; this one is.
    consumer.apply(RequestLoggingMiddleware).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
