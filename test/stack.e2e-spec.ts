import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { startTestApp, type RunningApp } from './support/test-app.js';

/** Proves the stack is real: a live broker, Redis and PostgreSQL, and the app booted against them. */
describe('local stack', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startTestApp();
  });

  afterAll(async () => {
    await running?.close();
  });

  it('should round-trip a message through the Kafka broker', async () => {
    const kafka = new Kafka({ clientId: 'stack-e2e', brokers: running.config.kafka.brokers, logLevel: logLevel.NOTHING });
    const topic = `${running.config.kafka.topicPrefix}stack-roundtrip-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    try {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') });
      });
      const body = `hello-${randomUUID()}`;
      await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: body }] });
      await expect(received).resolves.toBe(body);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('should append to and read back a Redis stream', async () => {
    const redis = new Redis({ host: running.config.redis.host, port: running.config.redis.port, lazyConnect: true });
    await redis.connect();
    const key = `${running.config.redis.keyPrefix}stack-roundtrip`;
    try {
      const id = await redis.xadd(key, '*', 'status', 'PENDING');
      const entries = await redis.xrange(key, '-', '+');
      expect(entries).toEqual([[id, ['status', 'PENDING']]]);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  it('should have created the payments table through the migrations', async () => {
    const dataSource = running.app.get(DataSource);
    const rows: { table_name: string }[] = await dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['payments', 'schema_migrations']));
    expect(await dataSource.showMigrations()).toBe(false);
  });

  it('should report Kafka, Redis and PostgreSQL up on GET /health', async () => {
    const response = await fetch(`${running.url}/health`);
    const body = (await response.json()) as { status: string; components: Record<string, { status: string }> };
    expect(response.status).toBe(200);
    expect(body.status).toBe('UP');
    expect(body.components.kafka.status).toBe('UP');
    expect(body.components.redis.status).toBe('UP');
    expect(body.components.db.status).toBe('UP');
  });
});
