import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Admin } from 'kafkajs';
import { AppConfig } from '../config/app-config.js';
import { createKafka } from '../kafka/kafka-client.factory.js';
import { KafkaTopics } from '../kafka/kafka-topics.js';
import { allTopics } from '../kafka/topics.js';

/** Kafka is up when the cluster answers a metadata request and every pipeline topic exists. */
@Injectable()
export class KafkaHealthIndicator implements OnModuleDestroy {
  private readonly admin: Admin;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly topics: KafkaTopics,
    config: AppConfig,
  ) {
    // No retries: a health probe must answer within its timeout, not after kafkajs' backoff.
    this.admin = createKafka(config, '-health').admin({ retry: { retries: 0 } });
  }

  check(key = 'kafka') {
    return this.health
      .check(key)
      .attempt(async () => {
        await this.admin.connect();
        const cluster = await this.admin.describeCluster();
        const existing = new Set(await this.admin.listTopics());
        const missing = allTopics()
          .map((t) => this.topics.physical(t))
          .filter((t) => !existing.has(t));
        if (missing.length > 0) throw new Error(`missing topics: ${missing.join(', ')}`);
        return { brokers: cluster.brokers.length, controller: cluster.controller, clusterId: cluster.clusterId };
      })
      .withTimeout(3000);
  }

  async onModuleDestroy(): Promise<void> {
    await this.admin.disconnect().catch(() => undefined);
  }
}
