import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config.js';

/** Injection token of the shared ioredis client. */
export const REDIS = Symbol('REDIS');

/**
 * The one way the project builds an ioredis client: the app's, and the CLIs' (verify), which may
 * override the app's fail-fast settings (`overrides`).
 */
export function createRedisClient(config: AppConfig, overrides: RedisOptions = {}): Redis {
  const logger = new Logger('Redis');
  const client = new Redis({
    host: config.redis.host,
    port: config.redis.port,
    password: config.redis.password,
    db: config.redis.db,
    // Every key of the app carries the deployment's prefix, Lua scripts' KEYS included.
    keyPrefix: config.redis.keyPrefix,
    // Fail commands quickly while Redis is away so HTTP callers get a 503 instead of hanging;
    // the client keeps reconnecting in the background. maxRetriesPerRequest alone did not: a
    // command queued during the outage waited for the reconnect (5 s in the outage test), so every
    // command also has a deadline (REDIS_COMMAND_TIMEOUT_MS), queued time included.
    maxRetriesPerRequest: 1,
    commandTimeout: config.redis.commandTimeoutMs,
    connectTimeout: 2000,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    ...overrides,
  });
  let lastError = '';
  client.on('error', (error: Error) => {
    if (error.message !== lastError) logger.warn(`Redis error: ${error.message}`);
    lastError = error.message;
  });
  client.on('ready', () => {
    if (lastError) logger.log('Redis connection restored');
    lastError = '';
  });
  return client;
}

@Module({
  providers: [{ provide: REDIS, inject: [AppConfig], useFactory: createRedisClient }],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
