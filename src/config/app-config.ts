import { type EnvironmentVariables, loadEnvironment } from './environment.js';

/**
 * The typed configuration every service receives by injection. Built once at boot from the
 * validated environment; services never read `process.env` themselves.
 */
export class AppConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly http: { host: string; port: number };
  readonly logLevel: string;
  readonly kafka: {
    brokers: string[];
    clientId: string;
    topicPrefix: string;
    partitions: number;
    replicationFactor: number;
    publishTimeoutMs: number;
  };
  readonly redis: { host: string; port: number; password?: string; db: number; keyPrefix: string };
  readonly database: {
    host: string;
    port: number;
    username: string;
    password?: string;
    database: string;
    poolSize: number;
    migrationsRun: boolean;
  };
  readonly payments: {
    maxAmount: string;
    defaultMerchantId: string;
    idempotencyTtlSeconds: number;
    stateRetentionSeconds: number;
    globalStreamMaxLen: number;
  };

  constructor(vars: EnvironmentVariables) {
    this.env = vars.NODE_ENV as AppConfig['env'];
    this.http = { host: vars.HOST, port: vars.PORT };
    this.logLevel = vars.LOG_LEVEL;
    this.kafka = {
      brokers: vars.KAFKA_BROKERS.split(','),
      clientId: vars.KAFKA_CLIENT_ID,
      topicPrefix: vars.KAFKA_TOPIC_PREFIX,
      partitions: vars.KAFKA_PARTITIONS,
      replicationFactor: vars.KAFKA_REPLICATION_FACTOR,
      publishTimeoutMs: vars.KAFKA_PUBLISH_TIMEOUT_MS,
    };
    this.redis = {
      host: vars.REDIS_HOST,
      port: vars.REDIS_PORT,
      password: vars.REDIS_PASSWORD || undefined,
      db: vars.REDIS_DB,
      keyPrefix: vars.REDIS_KEY_PREFIX,
    };
    this.database = {
      host: vars.DB_HOST,
      port: vars.DB_PORT,
      username: vars.DB_USER,
      password: vars.DB_PASSWORD || undefined,
      database: vars.DB_NAME,
      poolSize: vars.DB_POOL_SIZE,
      migrationsRun: vars.DB_MIGRATIONS_RUN,
    };
    this.payments = {
      maxAmount: vars.PAYMENT_MAX_AMOUNT,
      defaultMerchantId: vars.DEFAULT_MERCHANT_ID,
      idempotencyTtlSeconds: vars.IDEMPOTENCY_TTL_SECONDS,
      stateRetentionSeconds: vars.STATE_RETENTION_SECONDS,
      globalStreamMaxLen: vars.STATE_GLOBAL_STREAM_MAXLEN,
    };
  }

  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): AppConfig {
    return new AppConfig(loadEnvironment(env));
  }
}
