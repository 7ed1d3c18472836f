import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig } from '../src/config/app-config.js';
import { dataSourceOptions } from '../src/database/data-source-options.js';
import { kafkaConnectionOptions } from '../src/kafka/kafka-client.factory.js';
import { DeploymentVerifier } from '../src/verify/deployment-verifier.js';
import { spawnApp, stopAllAppProcesses, testProcessEnv } from './support/app-process.js';
import { request } from './support/http.js';
import { SaslKafkaBroker } from './support/kafka-broker.js';
import { fundPayers, waitForTerminal } from './support/load.js';
import { TEST_RUN_ID } from './support/test-config.js';

/**
 * The managed-Kafka settings against a real broker that requires SASL: each mechanism the app offers
 * authenticates through the same env → kafkajs mapping the app uses, a wrong password stops the app at
 * boot, and the app and `npm run verify` work end to end over SCRAM-SHA-512. (TLS is covered by unit
 * specs only: a TLS listener needs certificates this suite does not generate.)
 */
describe('managed Kafka settings: SASL against a real broker', () => {
  const broker = new SaslKafkaBroker();
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
    const dataSource = await new DataSource(dataSourceOptions(config)).initialize();
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
