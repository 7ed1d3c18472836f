import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Admin } from 'kafkajs';
import { AppConfig } from '../config/app-config.js';
import { createKafka } from '../kafka/kafka-client.factory.js';
import { KafkaTopics } from '../kafka/kafka-topics.js';
import { allTopics } from './stages.js';

/**
 * Creates the pipeline's topics at start-up when they are missing, with the configured partitions,
 * replication and min.insync.replicas. Every instance runs it whatever its roles: it is idempotent
 * (existing topics are left alone, and two instances creating one topic at once is fine), so no
 * instance has to start first.
 */
@Injectable()
export class TopicProvisioner implements OnApplicationBootstrap {
  private readonly logger = new Logger(TopicProvisioner.name);

  constructor(
    private readonly config: AppConfig,
    private readonly topics: KafkaTopics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const admin = createKafka(this.config, '-admin').admin();
    try {
      await admin.connect();
    } catch (error) {
      throw new Error(
        `Kafka is unreachable at ${this.config.kafka.brokers.join(',')} (${(error as Error).message}). ` +
          'Locally, start it with: bash scripts/kafka.sh start',
        { cause: error },
      );
    }
    try {
      await this.ensureTopics(admin);
    } finally {
      await admin.disconnect();
    }
  }

  private async ensureTopics(admin: Admin): Promise<void> {
    const wanted = allTopics().map((t) => this.topics.physical(t));
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length > 0) await this.createTopics(admin, missing);
    // New topics, or a broker that has just restarted, can lack partition leaders for a moment.
    await this.waitForLeaders(admin, wanted);
  }

  private async createTopics(admin: Admin, missing: string[]): Promise<void> {
    const { partitions, replicationFactor, minInsyncReplicas } = this.config.kafka;
    await admin.createTopics({
      // Our own waitForLeaders follows: kafkajs's can let a retriable metadata error escape as an
      // unhandled rejection on a busy broker, which crashed the app at start-up.
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: partitions,
        replicationFactor,
        configEntries: [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }],
      })),
    });
    this.logger.log(
      `Created topics ${missing.join(', ')} (${partitions} partitions, replication ${replicationFactor}, min.insync.replicas ${minInsyncReplicas})`,
    );
  }

  /** Existing topics are never altered; say so when they are less replicated than this deployment asks for. */
  private warnAboutWeakerTopics(described: { name: string; partitions: { replicas: number[] }[] }[]): void {
    const wanted = this.config.kafka.replicationFactor;
    const weaker = described.filter((t) => t.partitions.some((p) => p.replicas.length < wanted)).map((t) => t.name);
    if (weaker.length > 0) {
      this.logger.warn(`Topics ${weaker.join(', ')} have fewer than KAFKA_REPLICATION_FACTOR=${wanted} replicas; they were created earlier and are left as they are`);
    }
  }

  /** Consumers that subscribe before every partition has a leader fail with UNKNOWN_TOPIC_OR_PARTITION. */
  private async waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const { topics: described } = await admin.fetchTopicMetadata({ topics });
        if (described.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) {
          this.warnAboutWeakerTopics(described);
          return;
        }
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`Topics ${topics.join(', ')} have no leaders yet`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
