import { Kafka, logLevel } from 'kafkajs';
import type { AppConfig } from '../src/config/app-config.js';
import { kafkaConnectionOptions } from '../src/kafka/kafka-client.factory.js';
import type { RedisClient } from '../src/redis/redis.module.js';
import { unlinkKeys } from '../tools/redis-admin.js';

/**
 * Removes what one run left on the shared servers: its topics and consumer groups (all named with
 * the run's prefix) and, given a Redis client and the run's key prefix, its keys. Without it they
 * pile up on a broker and a Redis that tests and other people use.
 */
export async function removeRunLeftovers(config: AppConfig, topicPrefix: string, redis?: { client: RedisClient; keyPrefix: string }): Promise<void> {
  const admin = new Kafka({ ...kafkaConnectionOptions(config.kafka), clientId: 'bench-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(topicPrefix));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
  if (!redis) return;
  await unlinkKeys(redis.client, `${redis.keyPrefix}*`);
}
