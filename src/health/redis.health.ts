import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { REDIS } from '../redis/redis.module.js';

/** Redis is up when it answers PING. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  check(key = 'redis') {
    return this.health
      .check(key)
      .attempt(async () => {
        const started = Date.now();
        const pong = await this.redis.ping();
        if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
        return { latencyMs: Date.now() - started };
      })
      .withTimeout(2000);
  }
}
