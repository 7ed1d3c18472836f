import { describe, expect, it } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { RedisClient } from '../redis/redis.module.js';
import { RedisHealthIndicator } from './redis.health.js';

const indicatorWith = (ping: () => Promise<string>) => new RedisHealthIndicator(new HealthIndicatorService(), { ping } as unknown as RedisClient);

describe('RedisHealthIndicator', () => {
  it('should be up with its latency when Redis answers PONG', async () => {
    const result = await indicatorWith(async () => 'PONG').check();
    expect(result.redis.status).toBe('up');
    expect(typeof result.redis.latencyMs).toBe('number');
  });

  it('should be down when PING fails', async () => {
    const result = await indicatorWith(async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    }).check();
    expect(result.redis).toMatchObject({ status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:6379' });
  });

  it('should be down when PING answers something else', async () => {
    const result = await indicatorWith(async () => 'LOADING').check();
    expect(result.redis).toMatchObject({ status: 'down', message: 'unexpected PING reply LOADING' });
  });
});
