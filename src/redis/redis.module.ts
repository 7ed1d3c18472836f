import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { RedisKeySpace } from './key-space.js';
import { DYNAMIC_KEY_SCRIPTS } from './lua-command.js';

/** One Redis server's client or a Redis Cluster's: the project's code works with either. */
export type RedisClient = Redis | Cluster;

/** Injection token of the shared ioredis client. */
export const REDIS = Symbol('REDIS');

/**
 * A Cluster client whose every command has a deadline from the moment it is sent. A node's own
 * client times out what it holds (commandTimeout), but the Cluster client queues commands of its
 * own while it has no slot map (connecting, a failover's refresh) with no limit: an HTTP caller
 * would wait there instead of getting its 503.
 */
class DeadlineCluster extends Cluster {
  constructor(
    nodes: { host: string; port: number }[],
    options: ConstructorParameters<typeof Cluster<'legacy'>>[1],
    private readonly deadlineMs: number | undefined,
  ) {
    super(nodes, options);
  }

  override sendCommand(...args: Parameters<Cluster['sendCommand']>): unknown {
    if (this.deadlineMs !== undefined) args[0].setTimeout(this.deadlineMs);
    return super.sendCommand(...args);
  }
}

/**
 * The one way the project builds a Redis client: the app's, and the CLIs' and tools' (verify, bench,
 * chaos), which may override the app's fail-fast settings (`overrides`). With REDIS_CLUSTER_NODES it
 * is ioredis' Cluster client (EVALSHA scripts and auto-pipelining per node), else one server's.
 */
export function createRedisClient(config: AppConfig, overrides: RedisOptions = {}): RedisClient {
  const logger = new Logger('Redis');
  const options: RedisOptions = {
    password: config.redis.password,
    // Fail commands quickly while Redis is away so HTTP callers get a 503 instead of hanging;
    // the client keeps reconnecting in the background. maxRetriesPerRequest alone did not: a
    // command queued during the outage waited for the reconnect (5 s in the outage test), so every
    // command also has a deadline (REDIS_COMMAND_TIMEOUT_MS), queued time included.
    maxRetriesPerRequest: 1,
    commandTimeout: config.redis.commandTimeoutMs,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    ...overrides,
  };
  const nodes = config.redis.clusterNodes;
  // A node's client of the Cluster takes no reconnect strategy (clusterRetryStrategy is it) and no
  // prefix (the Cluster client adds it) of its own.
  const { retryStrategy: _retryStrategy, keyPrefix = config.redis.keyPrefix, ...nodeOptions } = options;
  const client: RedisClient = nodes
    ? new DeadlineCluster(
        nodes,
        {
          // Every key of the app carries the deployment's prefix, Lua scripts' KEYS included.
          keyPrefix,
          enableAutoPipelining: overrides.enableAutoPipelining ?? true,
          // Auto-pipelining routes a command by its first argument, which for these is the key count.
          autoPipeliningIgnoredCommands: [...DYNAMIC_KEY_SCRIPTS],
          // A killed master's slots move to its replica in about the node timeout: retry meanwhile.
          retryDelayOnFailover: 200,
          retryDelayOnClusterDown: 200,
          clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2000),
          slotsRefreshTimeout: 2000,
          redisOptions: { ...nodeOptions, replyMapping: undefined },
        },
        options.commandTimeout,
      )
    : new Redis({
        host: config.redis.host,
        port: config.redis.port,
        db: config.redis.db,
        // Every key of the app carries the deployment's prefix, Lua scripts' KEYS included.
        keyPrefix: config.redis.keyPrefix,
        enableAutoPipelining: true,
        ...options,
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
  providers: [
    { provide: REDIS, inject: [AppConfig], useFactory: createRedisClient },
    { provide: RedisKeySpace, inject: [AppConfig], useFactory: (config: AppConfig) => RedisKeySpace.of(config) },
  ],
  exports: [REDIS, RedisKeySpace],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
