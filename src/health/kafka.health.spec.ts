import { describe, expect, it } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Admin } from 'kafkajs';
import { AppConfig } from '../config/app-config.js';
import { KafkaTopics } from '../kafka/kafka-topics.js';
import { allTopics } from '../pipeline/stages.js';
import { KafkaHealthIndicator } from './kafka.health.js';

const config = AppConfig.fromEnvironment({ KAFKA_TOPIC_PREFIX: 'env1.' });
const topics = new KafkaTopics(config);

function indicatorWith(admin: Partial<Admin>): KafkaHealthIndicator {
  const fake = { connect: async () => undefined, disconnect: async () => undefined, ...admin } as Admin;
  return new KafkaHealthIndicator(new HealthIndicatorService(), topics, fake, config);
}

const cluster = { brokers: [{ nodeId: 1, host: 'k', port: 9092 }], controller: 1, clusterId: 'c-1' };

describe('KafkaHealthIndicator', () => {
  it('should be up with cluster details when the cluster answers and every topic exists', async () => {
    const indicator = indicatorWith({
      describeCluster: async () => cluster,
      listTopics: async () => allTopics().map((t) => `env1.${t}`),
    });
    const result = await indicator.check();
    expect(result.kafka).toMatchObject({ status: 'up', brokers: 1, controller: 1, clusterId: 'c-1' });
  });

  it('should be down naming the missing topics (with the prefix)', async () => {
    const indicator = indicatorWith({
      describeCluster: async () => cluster,
      listTopics: async () => allTopics().filter((t) => t !== 'payments.approved').map((t) => `env1.${t}`),
    });
    const result = await indicator.check();
    expect(result.kafka.status).toBe('down');
    expect(result.kafka).toMatchObject({ message: 'missing topics: env1.payments.approved' });
  });

  it('should be down when the cluster does not answer', async () => {
    const indicator = indicatorWith({
      connect: async () => {
        throw new Error('Connection error: ECONNREFUSED');
      },
    });
    const result = await indicator.check();
    expect(result.kafka).toMatchObject({ status: 'down', message: 'Connection error: ECONNREFUSED' });
  });
});
