import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';

/** Removes this run's Kafka topics and Redis keys so that repeated runs do not pile up on the shared servers. */
export default async function globalTeardown(): Promise<void> {
  const runId = process.env.TEST_RUN_ID;
  if (!runId) return;
  const kafka = new Kafka({
    clientId: 'e2e-teardown',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const redis = new Redis({
    host: process.env.REDIS_HOST ?? '127.0.0.1',
    port: Number(process.env.REDIS_PORT ?? 6379),
    lazyConnect: true,
  });
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`test.${runId}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`test.${runId}.`));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `test:${runId}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch (error) {
    console.warn(`e2e teardown could not clean up run ${runId}: ${(error as Error).message}`);
  } finally {
    await admin.disconnect();
    redis.disconnect();
  }
}
