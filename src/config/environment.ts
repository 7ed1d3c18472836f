import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

/**
 * Every environment variable the app reads, with its laptop-friendly default.
 * This is the only place that touches `process.env`; README.md and .env.example list the same names.
 */
export class EnvironmentVariables {
  @IsIn(['development', 'test', 'production'])
  NODE_ENV = 'development';

  /** 0 picks a free port (tests). */
  @IsInt() @Min(0) @Max(65535)
  PORT = 8080;

  @IsString() @MinLength(1)
  HOST = '0.0.0.0';

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL = 'log';

  /** Comma-separated host:port list. */
  @Matches(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, { message: 'KAFKA_BROKERS must be a comma-separated list of host:port' })
  KAFKA_BROKERS = '127.0.0.1:9092';

  @IsString() @MinLength(1)
  KAFKA_CLIENT_ID = 'payments-system';

  /** Prefix for every topic and consumer group, so several deployments can share one cluster. */
  @Matches(/^[A-Za-z0-9._-]*$/, { message: 'KAFKA_TOPIC_PREFIX may hold only letters, digits, ".", "_" and "-"' })
  KAFKA_TOPIC_PREFIX = '';

  @IsInt() @Min(1) @Max(1000)
  KAFKA_PARTITIONS = 12;

  @IsInt() @Min(1) @Max(5)
  KAFKA_REPLICATION_FACTOR = 1;

  /** How long POST /api/payments waits for Kafka's acknowledgement before answering 503. */
  @IsInt() @Min(100) @Max(5000)
  KAFKA_PUBLISH_TIMEOUT_MS = 3000;

  @IsString() @MinLength(1)
  REDIS_HOST = '127.0.0.1';

  @IsInt() @Min(1) @Max(65535)
  REDIS_PORT = 6379;

  @IsOptional() @IsString()
  REDIS_PASSWORD = '';

  @IsInt() @Min(0) @Max(15)
  REDIS_DB = 0;

  @IsString() @MinLength(1)
  REDIS_KEY_PREFIX = 'payments:';

  @IsString() @MinLength(1)
  DB_HOST = '127.0.0.1';

  @IsInt() @Min(1) @Max(65535)
  DB_PORT = 5432;

  @IsString() @MinLength(1)
  DB_USER = 'postgres';

  @IsOptional() @IsString()
  DB_PASSWORD = '';

  @IsString() @MinLength(1)
  DB_NAME = 'payments';

  @IsInt() @Min(1) @Max(200)
  DB_POOL_SIZE = 10;

  @IsBoolean()
  DB_MIGRATIONS_RUN = true;

  /** Largest amount one payment may carry, in major units of any currency. */
  @Matches(/^\d{1,15}(\.\d{1,3})?$/, { message: 'PAYMENT_MAX_AMOUNT must be a positive decimal number' })
  PAYMENT_MAX_AMOUNT = '1000000';

  @IsString() @MinLength(1)
  DEFAULT_MERCHANT_ID = 'MERCHANT-001';

  @IsInt() @Min(60) @Max(60 * 60 * 24 * 30)
  IDEMPOTENCY_TTL_SECONDS = 60 * 60 * 24;

  @IsInt() @Min(60) @Max(60 * 60 * 24 * 365)
  STATE_RETENTION_SECONDS = 60 * 60 * 24 * 7;

  @IsInt() @Min(100) @Max(100_000_000)
  STATE_GLOBAL_STREAM_MAXLEN = 1_000_000;
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };

/**
 * Reads and validates the environment once. Throws one error naming every bad variable,
 * so a mistyped setting stops the app at boot instead of surfacing later.
 */
export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): EnvironmentVariables {
  const defaults = new EnvironmentVariables();
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(defaults) as (keyof EnvironmentVariables)[]) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    const fallback = defaults[key];
    if (typeof fallback === 'number') {
      raw[key] = /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    } else if (typeof fallback === 'boolean') {
      raw[key] = BOOLEAN_WORDS[value.trim().toLowerCase()] ?? value;
    } else {
      raw[key] = value;
    }
  }
  // plainToInstance runs the constructor, so unset variables keep their defaults.
  const parsed = plainToInstance(EnvironmentVariables, raw);
  const errors = validateSync(parsed, { forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const shown = env[e.property] === undefined ? '(unset)' : JSON.stringify(env[e.property]);
      return `  ${e.property}=${shown}: ${Object.values(e.constraints ?? {}).join('; ')}`;
    });
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed;
}
