import { describe, expect, it } from '@jest/globals';
import { AppConfig } from './app-config.js';
import { readFileSync } from 'node:fs';
import { EnvironmentVariables, loadEnvironment } from './environment.js';

describe('loadEnvironment', () => {
  it('should give every setting a laptop-friendly default', () => {
    const env = loadEnvironment({});
    expect(env.PORT).toBe(8080);
    expect(env.KAFKA_BROKERS).toBe('127.0.0.1:9092');
    expect(env.DB_NAME).toBe('payments');
    expect(env.DB_MIGRATIONS_RUN).toBe(true);
  });

  it('should convert numbers and booleans from their string form', () => {
    const env = loadEnvironment({ PORT: '9090', DB_MIGRATIONS_RUN: 'false', KAFKA_PARTITIONS: '24' });
    expect(env.PORT).toBe(9090);
    expect(env.DB_MIGRATIONS_RUN).toBe(false);
    expect(env.KAFKA_PARTITIONS).toBe(24);
  });

  it('should stop with a message naming each bad variable', () => {
    expect(() => loadEnvironment({ PORT: 'eighty', KAFKA_BROKERS: 'localhost', NODE_ENV: 'staging' })).toThrow(
      /PORT="eighty"[\s\S]*KAFKA_BROKERS="localhost"|KAFKA_BROKERS="localhost"[\s\S]*PORT="eighty"/,
    );
    expect(() => loadEnvironment({ NODE_ENV: 'staging' })).toThrow(/NODE_ENV="staging"/);
  });

  it('should reject a port out of range', () => {
    expect(() => loadEnvironment({ PORT: '70000' })).toThrow(/PORT="70000"/);
    expect(() => loadEnvironment({ PORT: '-1' })).toThrow(/PORT="-1"/);
  });
});

describe('AppConfig', () => {
  it("should take the seed's Kafka tuning knobs, within bounds, the fetch wait at most half the session", () => {
    const tuned = AppConfig.fromEnvironment({ KAFKA_FETCH_MIN_BYTES: '65536', KAFKA_FETCH_MAX_WAIT_MS: '200', STAGE_BATCH_MAX_RECORDS: '100' });
    expect(tuned.pipeline).toMatchObject({ fetchMinBytes: 65536, fetchMaxWaitMs: 200, batchMaxRecords: 100 });
    expect(AppConfig.fromEnvironment({}).pipeline).toMatchObject({ fetchMinBytes: 1, fetchMaxWaitMs: 50, batchMaxRecords: 500 });
    expect(() => AppConfig.fromEnvironment({ KAFKA_FETCH_MIN_BYTES: '0' })).toThrow(/KAFKA_FETCH_MIN_BYTES="0"/);
    expect(() => AppConfig.fromEnvironment({ STAGE_BATCH_MAX_RECORDS: '0' })).toThrow(/STAGE_BATCH_MAX_RECORDS="0"/);
    expect(() => AppConfig.fromEnvironment({ KAFKA_FETCH_MAX_WAIT_MS: '5001' })).toThrow(/KAFKA_FETCH_MAX_WAIT_MS="5001"/);
    expect(() => AppConfig.fromEnvironment({ KAFKA_FETCH_MAX_WAIT_MS: '4000', KAFKA_SESSION_TIMEOUT_MS: '6000' })).toThrow(/KAFKA_FETCH_MAX_WAIT_MS: must be at most half/);
  });

  it('should split the broker list and leave empty secrets undefined', () => {
    const config = AppConfig.fromEnvironment({ KAFKA_BROKERS: 'a:9092,b:9093', DB_PASSWORD: '' });
    expect(config.kafka.brokers).toEqual(['a:9092', 'b:9093']);
    expect(config.database.password).toBeUndefined();
  });

  it('should take a Redis Cluster by its seeds, with database 0 and a prefix without hash tags', () => {
    expect(AppConfig.fromEnvironment({}).redis.clusterNodes).toBeUndefined();
    expect(AppConfig.fromEnvironment({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001' }).redis.clusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b', port: 7001 },
    ]);
    expect(() => AppConfig.fromEnvironment({ REDIS_CLUSTER_NODES: 'redis-a' })).toThrow(/REDIS_CLUSTER_NODES="redis-a"/);
    expect(() => AppConfig.fromEnvironment({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_DB: '2' })).toThrow(/REDIS_DB: must be 0/);
    expect(() => AppConfig.fromEnvironment({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_KEY_PREFIX: '{pay}:' })).toThrow(/REDIS_KEY_PREFIX: must not hold/);
  });
});

describe('AppConfig pipeline rules', () => {
  it('should read per-currency amounts as minor units', () => {
    const config = AppConfig.fromEnvironment({
      FRAUD_AMOUNT_THRESHOLDS: 'USD:100.5,JPY:5000,BHD:1.25',
      PAYMENT_LIMITS: 'USD:0.50-20',
      BLOCKED_PAYERS: 'U1,U2',
    });
    expect(config.fraud.amountThresholds).toEqual({ USD: 10050n, JPY: 5000n, BHD: 1250n });
    expect(config.validation.limits.USD).toEqual({ min: 50n, max: 2000n });
    expect(config.validation.blockedPayers).toEqual(new Set(['U1', 'U2']));
  });

  it('should refuse an unsupported currency in a rule, naming the variable', () => {
    expect(() => AppConfig.fromEnvironment({ FRAUD_AMOUNT_THRESHOLDS: 'XYZ:10' })).toThrow(/FRAUD_AMOUNT_THRESHOLDS: XYZ/);
    expect(() => AppConfig.fromEnvironment({ PAYMENT_LIMITS: 'USD:10' })).toThrow(/PAYMENT_LIMITS=/);
  });
});

describe('documentation of the settings', () => {
  it('should list every variable in README.md and .env.example', () => {
    const names = Object.keys(new EnvironmentVariables());
    const readme = readFileSync('README.md', 'utf8');
    const example = readFileSync('.env.example', 'utf8');
    expect(names.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
    expect(names.filter((name) => !new RegExp(`^${name}=`, 'm').test(example))).toEqual([]);
  });
});

describe('replication settings', () => {
  it('should derive min.insync.replicas from the replication factor unless set', () => {
    expect(AppConfig.fromEnvironment({}).kafka).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(AppConfig.fromEnvironment({ KAFKA_REPLICATION_FACTOR: '3' }).kafka).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(AppConfig.fromEnvironment({ KAFKA_REPLICATION_FACTOR: '5', KAFKA_MIN_INSYNC_REPLICAS: '3' }).kafka.minInsyncReplicas).toBe(3);
  });

  it('should refuse a min.insync.replicas above the replication factor', () => {
    expect(() => AppConfig.fromEnvironment({ KAFKA_REPLICATION_FACTOR: '1', KAFKA_MIN_INSYNC_REPLICAS: '2' })).toThrow(/KAFKA_MIN_INSYNC_REPLICAS: 2 is above/);
  });
});
