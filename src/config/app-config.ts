import { CURRENCY_MINOR_DIGITS, isSupportedCurrency, type CurrencyCode } from '../money/currencies.js';
import { truncateToMinorUnits } from '../money/money.js';
import { type EnvironmentVariables, invalid, loadEnvironment } from './environment.js';
import { kafkaConnection, type KafkaConnection } from './kafka-connection.js';

export interface LogSettings {
  /** Nest's level name: fatal, error, warn, log, debug or verbose. */
  level: string;
  /** JSON lines (production, collectors) or readable lines (a laptop). */
  json: boolean;
}

/** Amounts per currency, in minor units. */
export type PerCurrency<T> = Partial<Record<CurrencyCode, T>>;

/**
 * The typed configuration every service receives by injection. Built once at boot from the
 * validated environment; services never read `process.env` themselves.
 */
export class AppConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly http: { host: string; port: number };
  /** Nest's level name and the line format; also which level the per-payment trace lines use. */
  readonly logSettings: LogSettings;
  /** `log` (info) on a laptop, so a new user sees each payment pass; `debug` in production, so it costs nothing. */
  readonly paymentTraceLevel: 'log' | 'debug';
  /** APP_ROLES as given; pipeline/stages.ts (rolesOf) says what it runs. */
  readonly appRoles: string;
  readonly kafka: KafkaConnection & {
    clientId: string;
    topicPrefix: string;
    partitions: number;
    replicationFactor: number;
    /** min.insync.replicas of created topics (resolved: never 0, never above the replication factor). */
    minInsyncReplicas: number;
    publishTimeoutMs: number;
    lingerMs: number;
    batchMaxRecords: number;
  };
  readonly redis: {
    host: string;
    port: number;
    password?: string;
    db: number;
    keyPrefix: string;
    commandTimeoutMs: number;
    /** Seeds of a Redis Cluster; none for one Redis server. */
    clusterNodes?: { host: string; port: number }[];
    clusterStreamParts: number;
  };
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
    /** UUIDv5 namespace of the paymentIds derived from Idempotency-Keys. */
    paymentIdNamespace: string;
    stateRetentionSeconds: number;
    globalStreamMaxLen: number;
  };

  readonly pipeline: {
    maxAttempts: number;
    retryInitialMs: number;
    retryMaxMs: number;
    partitionsConcurrency: number;
    sessionTimeoutMs: number;
    /** Kafka's fetch.min.bytes and fetch.max.wait.ms for the stage consumers. */
    fetchMinBytes: number;
    fetchMaxWaitMs: number;
    /** Kafka's max.poll.records: the most events of one partition's batch a stage works on at once. */
    batchMaxRecords: number;
  };
  readonly validation: {
    enabledCurrencies: CurrencyCode[];
    limits: PerCurrency<{ min: bigint; max: bigint }>;
    blockedPayers: Set<string>;
  };
  readonly security: {
    /** sha256 hex of each merchant key, with the merchant it speaks for. */
    merchantKeys: { merchantId: string; hash: string }[];
    adminKeyHashes: string[];
    /** OPEN_API: /api answers callers without a key, keys or not (never in production). */
    openApi: boolean;
    rateLimit: { enabled: boolean; max: number; windowMs: number };
  };
  readonly fraud: {
    velocityWindowSeconds: number;
    velocityMaxCount: number;
    velocityMaxAmount: PerCurrency<bigint>;
    amountThresholds: PerCurrency<bigint>;
    blocklist: Set<string>;
    newUserHours: number;
    newUserLimits: PerCurrency<bigint>;
  };

  readonly webhooks: {
    /** Milliseconds to wait before the 2nd, 3rd, … attempt; the last repeats. */
    retryScheduleMs: number[];
    giveUpMs: number;
    timeoutMs: number;
    pollMs: number;
    allowPrivateUrls: boolean;
  };

  constructor(vars: EnvironmentVariables) {
    this.env = vars.NODE_ENV as AppConfig['env'];
    this.http = { host: vars.HOST, port: vars.PORT };
    this.logSettings = {
      level: vars.LOG_LEVEL,
      json: vars.LOG_FORMAT === 'json' || (vars.LOG_FORMAT === 'auto' && vars.NODE_ENV === 'production'),
    };
    this.paymentTraceLevel = vars.NODE_ENV === 'production' ? 'debug' : 'log';
    this.appRoles = vars.APP_ROLES;
    this.kafka = {
      ...kafkaConnection(vars),
      clientId: vars.KAFKA_CLIENT_ID,
      topicPrefix: vars.KAFKA_TOPIC_PREFIX,
      partitions: vars.KAFKA_PARTITIONS,
      replicationFactor: vars.KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: minInsyncReplicas(vars.KAFKA_REPLICATION_FACTOR, vars.KAFKA_MIN_INSYNC_REPLICAS),
      publishTimeoutMs: vars.KAFKA_PUBLISH_TIMEOUT_MS,
      lingerMs: vars.KAFKA_LINGER_MS,
      batchMaxRecords: vars.KAFKA_BATCH_MAX_RECORDS,
    };
    this.redis = {
      host: vars.REDIS_HOST,
      port: vars.REDIS_PORT,
      password: vars.REDIS_PASSWORD || undefined,
      db: vars.REDIS_DB,
      keyPrefix: vars.REDIS_KEY_PREFIX,
      commandTimeoutMs: vars.REDIS_COMMAND_TIMEOUT_MS,
      clusterNodes: redisClusterNodes(vars),
      clusterStreamParts: vars.REDIS_CLUSTER_STREAM_PARTS,
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
      paymentIdNamespace: vars.PAYMENT_ID_NAMESPACE,
      stateRetentionSeconds: vars.STATE_RETENTION_SECONDS,
      globalStreamMaxLen: vars.STATE_GLOBAL_STREAM_MAXLEN,
    };
    this.pipeline = {
      maxAttempts: vars.STAGE_MAX_ATTEMPTS,
      retryInitialMs: vars.STAGE_RETRY_INITIAL_MS,
      retryMaxMs: vars.STAGE_RETRY_MAX_MS,
      partitionsConcurrency: vars.KAFKA_PARTITIONS_CONCURRENCY,
      sessionTimeoutMs: vars.KAFKA_SESSION_TIMEOUT_MS,
      fetchMinBytes: vars.KAFKA_FETCH_MIN_BYTES,
      fetchMaxWaitMs: vars.KAFKA_FETCH_MAX_WAIT_MS,
      batchMaxRecords: vars.STAGE_BATCH_MAX_RECORDS,
    };
    // A fetch that may wait as long as the session lasts would get a healthy consumer evicted.
    if (this.pipeline.fetchMaxWaitMs * 2 > this.pipeline.sessionTimeoutMs) {
      throw invalid('KAFKA_FETCH_MAX_WAIT_MS', 'must be at most half of KAFKA_SESSION_TIMEOUT_MS');
    }
    this.validation = {
      enabledCurrencies: currencyList('ENABLED_CURRENCIES', vars.ENABLED_CURRENCIES),
      limits: perCurrency('PAYMENT_LIMITS', vars.PAYMENT_LIMITS, (currency, text) => {
        const [min, max] = text.split('-');
        return { min: toMinor(currency, min), max: toMinor(currency, max) };
      }),
      blockedPayers: idSet(vars.BLOCKED_PAYERS),
    };
    this.security = {
      merchantKeys: (vars.API_KEYS ? vars.API_KEYS.split(',') : []).map((entry) => {
        const separator = entry.lastIndexOf(':');
        return { merchantId: entry.slice(0, separator), hash: entry.slice(separator + 1) };
      }),
      adminKeyHashes: vars.ADMIN_API_KEYS ? vars.ADMIN_API_KEYS.split(',') : [],
      openApi: vars.OPEN_API,
      rateLimit: { enabled: vars.RATE_LIMIT_ENABLED, max: vars.RATE_LIMIT_MAX, windowMs: vars.RATE_LIMIT_WINDOW_SECONDS * 1000 },
    };
    // One key, one principal: a hash listed twice (two merchants, or merchant and admin) is a mistake.
    const hashes = [...this.security.merchantKeys.map((key) => key.hash), ...this.security.adminKeyHashes];
    if (new Set(hashes).size !== hashes.length) {
      throw invalid('API_KEYS / ADMIN_API_KEYS', 'the same key hash is listed more than once');
    }
    this.webhooks = {
      retryScheduleMs: vars.WEBHOOK_RETRY_SCHEDULE.split(',').map((step) => durationMs(step.trim())),
      giveUpMs: vars.WEBHOOK_GIVE_UP_HOURS * 3_600_000,
      timeoutMs: vars.WEBHOOK_TIMEOUT_MS,
      pollMs: vars.WEBHOOK_POLL_MS,
      allowPrivateUrls: vars.WEBHOOK_ALLOW_PRIVATE_URLS === 'auto' ? vars.NODE_ENV !== 'production' : vars.WEBHOOK_ALLOW_PRIVATE_URLS === 'true',
    };
    this.fraud = {
      velocityWindowSeconds: vars.FRAUD_VELOCITY_WINDOW_SECONDS,
      velocityMaxCount: vars.FRAUD_VELOCITY_MAX_COUNT,
      velocityMaxAmount: perCurrency('FRAUD_VELOCITY_MAX_AMOUNT', vars.FRAUD_VELOCITY_MAX_AMOUNT, toMinor),
      amountThresholds: perCurrency('FRAUD_AMOUNT_THRESHOLDS', vars.FRAUD_AMOUNT_THRESHOLDS, toMinor),
      blocklist: idSet(vars.FRAUD_BLOCKLIST),
      newUserHours: vars.FRAUD_NEW_USER_HOURS,
      newUserLimits: perCurrency('FRAUD_NEW_USER_LIMITS', vars.FRAUD_NEW_USER_LIMITS, toMinor),
    };
  }

  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): AppConfig {
    return new AppConfig(loadEnvironment(env));
  }
}

/** `500ms`, `5s`, `5m`, `2h` in milliseconds. */
function durationMs(text: string): number {
  const [, amount, unit] = /^(\d+)(ms|s|m|h)$/.exec(text)!;
  return Number(amount) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
}

/** A cluster has one database, and a brace in the prefix would put every key in one hash slot. */
function redisClusterNodes(vars: EnvironmentVariables): AppConfig['redis']['clusterNodes'] {
  if (vars.REDIS_CLUSTER_NODES.trim() === '') return undefined;
  if (vars.REDIS_DB !== 0) throw invalid('REDIS_DB', 'must be 0 with REDIS_CLUSTER_NODES: a Redis Cluster has database 0 only');
  if (/[{}]/.test(vars.REDIS_KEY_PREFIX)) throw invalid('REDIS_KEY_PREFIX', 'must not hold { or } with REDIS_CLUSTER_NODES: the keys\' hash tags come after it');
  return vars.REDIS_CLUSTER_NODES.split(',').map((node) => {
    const [host, port] = node.trim().split(/:(?=\d+$)/);
    return { host, port: Number(port) };
  });
}

/** 0 = automatic: a replicated topic must keep 2 copies to take a write, a single-copy one 1. */
function minInsyncReplicas(replicationFactor: number, configured: number): number {
  if (configured === 0) return Math.min(2, replicationFactor);
  if (configured > replicationFactor) {
    throw invalid('KAFKA_MIN_INSYNC_REPLICAS', `${configured} is above KAFKA_REPLICATION_FACTOR=${replicationFactor}: no write could ever succeed`);
  }
  return configured;
}

function currencyList(variable: string, text: string): CurrencyCode[] {
  return text ? text.split(',').map((code) => supportedCurrency(variable, code)) : [];
}

function perCurrency<T>(variable: string, text: string, parse: (currency: CurrencyCode, value: string) => T): PerCurrency<T> {
  const result: PerCurrency<T> = {};
  for (const item of text ? text.split(',') : []) {
    const [code, value] = [item.slice(0, 3), item.slice(4)];
    result[supportedCurrency(variable, code)] = parse(code as CurrencyCode, value);
  }
  return result;
}

function supportedCurrency(variable: string, code: string): CurrencyCode {
  if (!isSupportedCurrency(code)) throw invalid(variable, `${code} is not a supported currency`);
  return code;
}

/** Config amounts are trusted decimals (the environment schema checked their form); extra decimals are cut. */
function toMinor(currency: CurrencyCode, major: string): bigint {
  return truncateToMinorUnits(major, CURRENCY_MINOR_DIGITS[currency]);
}

function idSet(text: string): Set<string> {
  return new Set(text ? text.split(',') : []);
}
