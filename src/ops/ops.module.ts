import { Module } from '@nestjs/common';
import { ConsoleSessions } from '../auth/console-sessions.js';
import { HealthModule } from '../health/health.module.js';
import { KafkaModule } from '../kafka/kafka.module.js';
import { REDIS, RedisModule, type RedisClient } from '../redis/redis.module.js';
import { StateModule } from '../state/state.module.js';
import { ConsoleController } from './console.controller.js';
import { ConsoleFeed } from './console-feed.js';
import { MetricsSampler } from './metrics-sampler.js';
import { StreamTail } from './stream-tail.js';

/** The operations console (/ops): its page's API and the shared sources of its live feed. Only in instances that serve the API. */
@Module({
  imports: [HealthModule, KafkaModule, RedisModule, StateModule],
  controllers: [ConsoleController],
  providers: [MetricsSampler, StreamTail, ConsoleFeed, { provide: ConsoleSessions, inject: [REDIS], useFactory: (redis: RedisClient) => new ConsoleSessions(redis) }],
})
export class OpsModule {}
