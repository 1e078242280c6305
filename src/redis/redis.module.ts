import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisKeys } from './redis-keys';
import { RedisConnections } from './redis-connections';
import { ReplicationBarrier } from './replication-barrier';

@Global()
@Module({
  providers: [
    RedisConnections,
    ReplicationBarrier,
    {
      provide: RedisKeys,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new RedisKeys(config.redis.keyPrefix, config.redis.partitions),
    },
  ],
  exports: [RedisConnections, RedisKeys, ReplicationBarrier],
})
export class RedisModule {}
