import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisKeys } from './redis-keys';
import { RedisConnections } from './redis-connections';

@Global()
@Module({
  providers: [
    RedisConnections,
    {
      provide: RedisKeys,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new RedisKeys(config.redis.keyPrefix),
    },
  ],
  exports: [RedisConnections, RedisKeys],
})
export class RedisModule {}
