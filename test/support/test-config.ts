import { AppConfig } from '../../src/config/app-config.js';

/**
 * e2e tests run against the real local servers but apart from a developer's running app:
 * their own database, their own Redis key prefix and their own Kafka topic prefix per run.
 */
export const TEST_RUN_ID = process.env.TEST_RUN_ID ?? `run${process.pid}`;

export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return AppConfig.fromEnvironment({
    ...process.env,
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    DB_NAME: process.env.TEST_DB_NAME ?? 'payments_test',
    REDIS_KEY_PREFIX: `test:${TEST_RUN_ID}:`,
    KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.`,
    KAFKA_PARTITIONS: '3',
    // A test app that closes uncleanly (broker restarts) must not hold its partitions for long.
    KAFKA_SESSION_TIMEOUT_MS: '8000',
    ...overrides,
  });
}
