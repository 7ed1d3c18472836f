import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig } from '../src/config/app-config.js';
import { appDataSourceOptions } from '../src/app-data-source.js';
import { kafkaConnectionOptions } from '../src/kafka/kafka-client.factory.js';
import { DeploymentVerifier } from '../src/verify/deployment-verifier.js';
import { spawnApp, stopAllAppProcesses, testProcessEnv } from './support/app-process.js';
import { request } from './support/http.js';
import { SecureKafkaBroker } from './support/kafka-broker.js';
import { waitForTerminal } from '../tools/load.js';
import { fundPayers } from './support/money.js';
import { TEST_RUN_ID } from './support/test-config.js';

/**
 * The managed-Kafka settings against a real broker with a SASL listener and a TLS listener (test CA):
 * each SASL mechanism the app offers authenticates through the same env → kafkajs mapping the app
 * uses, a wrong password stops the app at boot, and the app and `npm run verify` work end to end over
 * SCRAM-SHA-512; TLS verifies the broker against KAFKA_SSL_CA_FILE, refuses it with Node's default
 * trust store, and the app runs over it.
 */
describe('managed Kafka settings against a real broker (SASL, TLS)', () => {
  const broker = new SecureKafkaBroker();
  const prefix = `test.${TEST_RUN_ID}.sasl.`;
  const saslEnv = (mechanism: string, password = broker.password) => ({
    KAFKA_BROKERS: broker.saslBrokers,
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: broker.username,
    KAFKA_SASL_PASSWORD: password,
  });

  beforeAll(async () => {
    await broker.start();
  }, 120_000);

  afterAll(async () => {
    await stopAllAppProcesses();
    await broker.destroy();
  }, 60_000);

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'])('should authenticate with %s and refuse a wrong password', async (mechanism) => {
    const connect = async (password: string) => {
      const options = kafkaConnectionOptions(AppConfig.fromEnvironment(saslEnv(mechanism, password)).kafka);
      const admin = new Kafka({ ...options, clientId: 'sasl-e2e', logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
      try {
        await admin.connect();
        return (await admin.describeCluster()).brokers.map((b) => b.port);
      } finally {
        await admin.disconnect();
      }
    };
    expect(await connect(broker.password)).toEqual([broker.saslPort]);
    await expect(connect('wrong')).rejects.toThrow(/authentication failed/i);
  });

  const tlsAdmin = async (env: Record<string, string>) => {
    const options = kafkaConnectionOptions(AppConfig.fromEnvironment({ KAFKA_BROKERS: broker.sslBrokers, KAFKA_SSL: 'true', ...env }).kafka);
    const admin = new Kafka({ ...options, clientId: 'tls-e2e', logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      return (await admin.describeCluster()).brokers.map((b) => b.port);
    } finally {
      await admin.disconnect();
    }
  };

  it('should verify the broker over TLS with KAFKA_SSL_CA_FILE, and refuse it with the default trust store', async () => {
    expect(await tlsAdmin({ KAFKA_SSL_CA_FILE: broker.caFile })).toEqual([broker.sslPort]);
    await expect(tlsAdmin({})).rejects.toThrow(/self-signed certificate|unable to verify/i);
    // A test cluster's escape hatch still talks TLS, without verifying.
    expect(await tlsAdmin({ KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' })).toEqual([broker.sslPort]);
  });

  it('should boot the app over TLS: topics provisioned and health up through the CA file', async () => {
    const env = testProcessEnv({
      KAFKA_BROKERS: broker.sslBrokers,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: broker.caFile,
      KAFKA_TOPIC_PREFIX: `${prefix}tls.`,
      REDIS_KEY_PREFIX: `test:${TEST_RUN_ID}:tls:`,
      KAFKA_PARTITIONS: '3',
      APP_ROLES: 'api',
      LOG_LEVEL: 'warn',
    });
    const app = await spawnApp('tls-app', env);
    const health = await request(`${app.url}/health`);
    expect(health.body.components.kafka).toMatchObject({ status: 'UP', details: { brokers: 1 } });
    await app.stop();
  }, 90_000);

  it('should stop the app at boot when the credentials are wrong', async () => {
    const env = testProcessEnv({ ...saslEnv('scram-sha-512', 'wrong'), KAFKA_TOPIC_PREFIX: prefix, LOG_LEVEL: 'error' });
    await expect(spawnApp('bad-credentials', env, { readyTimeoutMs: 60_000 })).rejects.toThrow(/exited \(1\)[\s\S]*(SASL|authentication)/i);
  }, 90_000);

  it('should run the pipeline and npm run verify over SCRAM-SHA-512', async () => {
    const env = testProcessEnv({
      ...saslEnv('scram-sha-512'),
      KAFKA_TOPIC_PREFIX: prefix,
      REDIS_KEY_PREFIX: `test:${TEST_RUN_ID}:sasl:`,
      KAFKA_PARTITIONS: '3',
      LOG_LEVEL: 'warn',
    });
    const app = await spawnApp('sasl-app', env);
    const payer = `SASL-${randomUUID().slice(0, 8)}`;
    await fundPayers(app.url, [payer], '10');
    const accepted = await request(`${app.url}/api/payments`, { body: { orderId: `SASL-${randomUUID()}`, amount: '2.50', currency: 'USD', userId: payer } });
    expect(accepted.status).toBe(202);

    const config = AppConfig.fromEnvironment(env);
    const dataSource = await new DataSource(appDataSourceOptions(config)).initialize();
    const redis = new Redis({ host: config.redis.host, port: config.redis.port, keyPrefix: config.redis.keyPrefix });
    try {
      expect(await waitForTerminal(dataSource, [accepted.body.paymentId], 30_000)).toEqual([]);
      expect((await request(`${app.url}/api/payments/${accepted.body.paymentId}`)).body.status).toBe('COMPLETED');
      const report = await new DeploymentVerifier(config, dataSource, redis).verify({ settleMs: 10_000 });
      expect(report).toMatchObject({ acceptedPayments: 1, terminalPayments: 1, violations: [] });
    } finally {
      await dataSource.destroy();
      redis.disconnect();
    }
  }, 120_000);
});
