// Over 300 lines, on purpose: every environment variable of the app, with its default and its rule,
// in one class, so that one read shows all there is to configure (README's table follows it).
import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

const DECIMAL = '\\d{1,15}(?:\\.\\d{1,3})?';
const CURRENCY_LIST = /^([A-Z]{3}(,[A-Z]{3})*)?$/;
const CURRENCY_AMOUNTS = new RegExp(`^([A-Z]{3}:${DECIMAL}(,[A-Z]{3}:${DECIMAL})*)?$`);
const CURRENCY_RANGES = new RegExp(`^([A-Z]{3}:${DECIMAL}-${DECIMAL}(,[A-Z]{3}:${DECIMAL}-${DECIMAL})*)?$`);
const ID_LIST = /^([A-Za-z0-9._:-]{1,64}(,[A-Za-z0-9._:-]{1,64})*)?$/;
const SHA256_HEX = '[0-9a-f]{64}';
const MERCHANT_KEY_HASHES = new RegExp(`^([A-Za-z0-9._:-]{1,64}:${SHA256_HEX}(,[A-Za-z0-9._:-]{1,64}:${SHA256_HEX})*)?$`);
const KEY_HASHES = new RegExp(`^(${SHA256_HEX}(,${SHA256_HEX})*)?$`);
/** Never echoed in a configuration error: someone may have pasted a key itself instead of its hash. */
const SECRET_VARIABLES = new Set(['API_KEYS', 'ADMIN_API_KEYS', 'REDIS_PASSWORD', 'DB_PASSWORD']);

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

  /** `json` lines for log collectors, `text` for people; `auto` is json in production, text elsewhere. */
  @IsIn(['auto', 'json', 'text'])
  LOG_FORMAT = 'auto';

  /**
   * What this instance runs: `all`, or a comma list of `api` (HTTP intake and queries), `validation`,
   * `fraud`, `ledger`, `refunds`, `webhooks` (the stage consumers; webhooks also delivers); `workers` is short for every stage.
   */
  @Matches(/^\s*[a-z]+(\s*,\s*[a-z]+)*\s*$/, {
    message: 'APP_ROLES must be all, or a comma-separated list of roles (api, the stage names; workers = every stage)',
  })
  APP_ROLES = 'all';

  /** Comma-separated host:port list (the bootstrap servers; the client learns the rest of the cluster). */
  @Matches(/^\s*[^,\s]+:\d+(\s*,\s*[^,\s]+:\d+)*\s*$/, { message: 'KAFKA_BROKERS must be a comma-separated list of host:port' })
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

  /** `min.insync.replicas` of the topics the app creates; 0 = automatic: 2 from replication 2 up, else 1. */
  @IsInt() @Min(0) @Max(5)
  KAFKA_MIN_INSYNC_REPLICAS = 0;

  /** TLS to the brokers (managed Kafka). */
  @IsBoolean()
  KAFKA_SSL = false;

  /** PEM file of the CA(s) that signed the brokers' certificates; empty = Node's default trust store. */
  @IsOptional() @IsString()
  KAFKA_SSL_CA_FILE = '';

  /** Refuse brokers whose certificate does not verify; turn off only for a test cluster. */
  @IsBoolean()
  KAFKA_SSL_REJECT_UNAUTHORIZED = true;

  /** SASL authentication: empty (none), `plain`, `scram-sha-256` or `scram-sha-512`. */
  @IsIn(['', 'plain', 'scram-sha-256', 'scram-sha-512', 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'])
  KAFKA_SASL_MECHANISM = '';

  @IsOptional() @IsString()
  KAFKA_SASL_USERNAME = '';

  @IsOptional() @IsString()
  KAFKA_SASL_PASSWORD = '';

  /** How long POST /api/payments waits for Kafka's acknowledgement before answering 503. */
  @IsInt() @Min(100) @Max(5000)
  KAFKA_PUBLISH_TIMEOUT_MS = 3000;

  /** How long the producer holds the first event of an idle moment for company (Kafka's linger.ms); 0 = one event-loop turn. */
  @IsInt() @Min(0) @Max(100)
  KAFKA_LINGER_MS = 0;

  /** Most events in one produce request: concurrent sends are coalesced up to this. */
  @IsInt() @Min(1) @Max(5000)
  KAFKA_BATCH_MAX_RECORDS = 500;

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

  /**
   * Comma-separated host:port seeds of a Redis Cluster; when set, every Redis user of the project uses
   * ioredis' Cluster client and cluster-shaped keys (REDIS_HOST, REDIS_PORT and REDIS_DB are not used).
   */
  @Matches(/^(\s*[^,\s]+:\d+(\s*,\s*[^,\s]+:\d+)*\s*)?$/, { message: 'REDIS_CLUSTER_NODES must be a comma-separated list of host:port' })
  REDIS_CLUSTER_NODES = '';

  /** Parts of the global stream on a cluster (and groups of payments' state keys, each part's with it). */
  @IsInt() @Min(1) @Max(256)
  REDIS_CLUSTER_STREAM_PARTS = 16;

  /**
   * The longest one Redis command may take, queued while reconnecting included: past it the intake
   * answers 503 and a stage retries. Without it a request made during an outage waited until Redis
   * came back (seconds), although the intake promises a 503.
   */
  @IsInt() @Min(50) @Max(60_000)
  REDIS_COMMAND_TIMEOUT_MS = 1000;

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

  /**
   * The UUIDv5 namespace of paymentIds derived from Idempotency-Keys. One per deployment, and never
   * changed once payments were taken: the same key must give the same paymentId for as long as its
   * payments are kept.
   */
  @IsUUID()
  PAYMENT_ID_NAMESPACE = 'c9e0a594-9a56-48bd-80b2-c3515bb08596';

  /** Pipeline stages: attempts per event before it goes to the dead-letter topic, with exponential backoff. */
  @IsInt() @Min(1) @Max(100)
  STAGE_MAX_ATTEMPTS = 10;

  @IsInt() @Min(1) @Max(60_000)
  STAGE_RETRY_INITIAL_MS = 200;

  @IsInt() @Min(1) @Max(300_000)
  STAGE_RETRY_MAX_MS = 5000;

  /** How long the broker waits for a silent stage consumer before handing its partitions to others. */
  @IsInt() @Min(6000) @Max(300_000)
  KAFKA_SESSION_TIMEOUT_MS = 30_000;

  /** Partitions each stage consumer works on at once (kafkajs partitionsConsumedConcurrently). */
  @IsInt() @Min(1) @Max(100)
  KAFKA_PARTITIONS_CONCURRENCY = 12;

  /**
   * The seed's levers against lag and backlog (Kafka's fetch.min.bytes, fetch.max.wait.ms and
   * max.poll.records): the broker answers a stage's fetch once it has this many bytes or this many
   * milliseconds have passed, and a stage works through a partition's batch this many events at a
   * time, committing after each chunk. Bigger values trade latency for fewer, fuller round trips.
   */
  @IsInt() @Min(1) @Max(10 * 1024 * 1024)
  KAFKA_FETCH_MIN_BYTES = 1;

  @IsInt() @Min(0) @Max(5_000)
  KAFKA_FETCH_MAX_WAIT_MS = 50;

  @IsInt() @Min(1) @Max(10_000)
  STAGE_BATCH_MAX_RECORDS = 500;

  @Matches(CURRENCY_LIST, { message: 'ENABLED_CURRENCIES must be a comma-separated list of currency codes' })
  ENABLED_CURRENCIES = 'USD,EUR,GBP,CNY,JPY,KRW,BHD';

  /** Per-currency minimum and maximum of one payment in major units, e.g. "USD:0.50-50000,JPY:50-5000000". */
  @Matches(CURRENCY_RANGES, { message: 'PAYMENT_LIMITS must look like USD:0.50-50000,JPY:50-5000000' })
  PAYMENT_LIMITS = '';

  /** Payers the validation stage refuses (comma-separated userIds). */
  @Matches(ID_LIST, { message: 'BLOCKED_PAYERS must be a comma-separated list of userIds' })
  BLOCKED_PAYERS = '';

  @IsInt() @Min(1) @Max(60 * 60 * 24 * 30)
  FRAUD_VELOCITY_WINDOW_SECONDS = 60;

  /** Most payments one payer may make within the window; 0 turns the rule off. */
  @IsInt() @Min(0) @Max(1_000_000)
  FRAUD_VELOCITY_MAX_COUNT = 30;

  /** Most one payer may spend per currency within the window, e.g. "USD:20000". */
  @Matches(CURRENCY_AMOUNTS, { message: 'FRAUD_VELOCITY_MAX_AMOUNT must look like USD:20000,EUR:20000' })
  FRAUD_VELOCITY_MAX_AMOUNT = 'USD:50000,EUR:50000,GBP:40000,CNY:350000,JPY:7500000,KRW:65000000,BHD:20000';

  /** A single payment above this is refused as fraud, per currency. */
  @Matches(CURRENCY_AMOUNTS, { message: 'FRAUD_AMOUNT_THRESHOLDS must look like USD:10000,EUR:10000' })
  FRAUD_AMOUNT_THRESHOLDS = 'USD:10000,EUR:10000,GBP:8000,CNY:70000,JPY:1500000,KRW:13000000,BHD:4000';

  /** Payers the fraud stage refuses outright (comma-separated userIds). */
  @Matches(ID_LIST, { message: 'FRAUD_BLOCKLIST must be a comma-separated list of userIds' })
  FRAUD_BLOCKLIST = '';

  /** A payer first seen by the fraud stage less than this many hours ago counts as new; 0 turns the rule off. */
  @IsInt() @Min(0) @Max(24 * 365)
  FRAUD_NEW_USER_HOURS = 24;

  /** Largest single payment of a new payer, per currency. */
  @Matches(CURRENCY_AMOUNTS, { message: 'FRAUD_NEW_USER_LIMITS must look like USD:2000,EUR:2000' })
  FRAUD_NEW_USER_LIMITS = 'USD:5000,EUR:5000,GBP:4000,CNY:35000,JPY:750000,KRW:6500000,BHD:2000';

  @IsInt() @Min(60) @Max(60 * 60 * 24 * 365)
  STATE_RETENTION_SECONDS = 60 * 60 * 24 * 7;

  @IsInt() @Min(100) @Max(100_000_000)
  STATE_GLOBAL_STREAM_MAXLEN = 1_000_000;

  /**
   * Merchant API keys as `merchantId:sha256hex` of each key (`npm run apikey -- MERCHANT-001` mints
   * one); the key itself is never stored. Empty (and ADMIN_API_KEYS empty): the API is open.
   */
  @Matches(MERCHANT_KEY_HASHES, { message: 'API_KEYS must be a comma-separated list of merchantId:sha256hex (lowercase hex of the key)' })
  API_KEYS = '';

  /** Operator API keys (deposits, balances, dead letters, every payment) as sha256hex of each key. */
  @Matches(KEY_HASHES, { message: 'ADMIN_API_KEYS must be a comma-separated list of sha256hex (lowercase hex of the key)' })
  ADMIN_API_KEYS = '';

  /**
   * Answer /api requests without a key as the open API does, although keys are configured: for a
   * laptop (`npm run local`) whose admin key only guards the operations console. Refused in production.
   */
  @IsBoolean()
  OPEN_API = false;

  /** Requests per API key (per client IP when the API is open) per window, counted in Redis across instances. */
  @IsBoolean()
  RATE_LIMIT_ENABLED = true;

  @IsInt() @Min(1) @Max(100_000_000)
  RATE_LIMIT_MAX = 600_000;

  @IsInt() @Min(1) @Max(60 * 60 * 24)
  RATE_LIMIT_WINDOW_SECONDS = 60;

  /** Waits between a webhook delivery's attempts; the last one repeats until WEBHOOK_GIVE_UP_HOURS. */
  @Matches(/^\s*\d+(ms|s|m|h)(\s*,\s*\d+(ms|s|m|h))*\s*$/, { message: 'WEBHOOK_RETRY_SCHEDULE must look like 5s,5m,30m,2h,5h,10h' })
  WEBHOOK_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h';

  /** A delivery failing this long after its first attempt gives up, and its endpoint is disabled. */
  @IsInt() @Min(0) @Max(24 * 30)
  WEBHOOK_GIVE_UP_HOURS = 72;

  /** One attempt's whole time: connect, request and answer. */
  @IsInt() @Min(100) @Max(60_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  /** How often the delivery workers look for due deliveries. */
  @IsInt() @Min(10) @Max(60_000)
  WEBHOOK_POLL_MS = 500;

  /** Endpoints on loopback, private, link-local or metadata addresses: `auto` allows them unless NODE_ENV=production. */
  @IsIn(['auto', 'true', 'false'])
  WEBHOOK_ALLOW_PRIVATE_URLS = 'auto';
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };

/** The boot error of one variable that passes its own rule but not one AppConfig checks (across variables, files). */
export function invalid(variable: string, problem: string): Error {
  return new Error(`Invalid configuration:\n  ${variable}: ${problem}`);
}

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
      const shown =
        env[e.property] === undefined ? '(unset)' : SECRET_VARIABLES.has(e.property) ? '(hidden)' : JSON.stringify(env[e.property]);
      return `  ${e.property}=${shown}: ${Object.values(e.constraints ?? {}).join('; ')}`;
    });
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed;
}
