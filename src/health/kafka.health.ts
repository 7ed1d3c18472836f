import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Admin } from 'kafkajs';
import { AppConfig } from '../config/app-config.js';
import { createKafka } from '../kafka/kafka-client.factory.js';
import { KafkaTopics } from '../kafka/kafka-topics.js';
import { rolesOf, topicsOfRoles, type AppRoles } from '../pipeline/stages.js';

/** Injection token of the Kafka admin client the health check uses (its own, so a spec can fake it). */
export const HEALTH_KAFKA_ADMIN = Symbol('HEALTH_KAFKA_ADMIN');

export const healthKafkaAdminProvider = {
  provide: HEALTH_KAFKA_ADMIN,
  inject: [AppConfig],
  // No retries: a health probe must answer within its timeout, not after kafkajs' backoff.
  useFactory: (config: AppConfig): Admin => createKafka(config, '-health', { quiet: true }).admin({ retry: { retries: 0 } }),
};

/** Kafka is up when the cluster answers a metadata request and every topic this instance's roles use exists. */
@Injectable()
export class KafkaHealthIndicator implements OnModuleDestroy {
  private readonly roles: AppRoles;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly topics: KafkaTopics,
    @Inject(HEALTH_KAFKA_ADMIN) private readonly admin: Admin,
    config: AppConfig,
  ) {
    this.roles = rolesOf(config.appRoles);
  }

  check(key = 'kafka') {
    return this.health
      .check(key)
      .attempt(async () => {
        await this.admin.connect();
        const cluster = await this.admin.describeCluster();
        const existing = new Set(await this.admin.listTopics());
        const expected = topicsOfRoles(this.roles).map((t) => this.topics.physical(t));
        const missing = expected.filter((t) => !existing.has(t));
        if (missing.length > 0) throw new Error(`missing topics: ${missing.join(', ')}`);
        return {
          brokers: cluster.brokers.length,
          controller: cluster.controller,
          clusterId: cluster.clusterId,
          topics: expected.length,
          roles: this.roles.names,
        };
      })
      .withTimeout(3000);
  }

  async onModuleDestroy(): Promise<void> {
    await this.admin.disconnect().catch(() => undefined);
  }
}
