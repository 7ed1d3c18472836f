import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Admin } from 'kafkajs';
import { AppConfig } from '../config/app-config.js';
import { createKafka } from '../kafka/kafka-client.factory.js';
import { KafkaTopics } from '../kafka/kafka-topics.js';
import { STAGE_TABLE } from './stages.js';
import { PaymentView } from './payment-view.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** How often consumer lag and stream length are refreshed; a scrape every 15 s sees fresh values. */
export const BACKLOG_REFRESH_MS = 5_000;

/**
 * Gauges that need a question to a server: each stage group's consumer lag per partition (log-end
 * offset minus committed offset) and the length of the global Redis stream. Refreshed on an interval
 * rather than on scrape, so a slow broker never slows /metrics down.
 */
@Injectable()
export class BacklogMetrics implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(BacklogMetrics.name);
  private readonly admin: Admin;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private lastError = '';

  constructor(
    private readonly metrics: MetricsService,
    private readonly topics: KafkaTopics,
    private readonly view: PaymentView,
    config: AppConfig,
  ) {
    // No retries: a failed refresh is simply tried again at the next tick.
    this.admin = createKafka(config, '-metrics', { quiet: true }).admin({ retry: { retries: 0 } });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.refresh(), BACKLOG_REFRESH_MS);
    this.timer.unref();
    void this.refresh();
  }

  /** Refreshes both gauges; concurrent calls share one round. */
  refresh(): Promise<void> {
    this.refreshing ??= Promise.allSettled([this.refreshLag(), this.refreshStream()])
      .then((results) => {
        const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        const message = failure ? String((failure.reason as Error)?.message ?? failure.reason) : '';
        // Log an outage once, not every tick.
        if (message && message !== this.lastError) this.logger.warn(`Backlog metrics not refreshed: ${message}`);
        this.lastError = message;
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Each stage input's lag; one that cannot be read (a leader moving) leaves the others refreshed, and its error reported. */
  private async refreshLag(): Promise<void> {
    await this.admin.connect();
    const inputs = STAGE_TABLE.flatMap(({ stage, inputs }) => inputs.map((logical) => ({ stage, logical })));
    const results = await Promise.allSettled(inputs.map(({ stage, logical }) => this.refreshInput(stage, logical)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async refreshInput(stage: string, logical: string): Promise<void> {
    const group = this.topics.consumerGroup(stage);
    const topic = this.topics.physical(logical);
    const [ends, committed] = await Promise.all([this.admin.fetchTopicOffsets(topic), this.admin.fetchOffsets({ groupId: group, topics: [topic] })]);
    const committedByPartition = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    for (const end of ends) {
      const done = committedByPartition.get(end.partition) ?? -1;
      // No commit yet: everything still in the log is waiting.
      const from = done >= 0 ? done : Number(end.low);
      const lag = Math.max(0, Number(end.high) - from);
      this.metrics.kafkaConsumerLag.set({ group, topic, partition: String(end.partition) }, lag);
    }
  }

  private async refreshStream(): Promise<void> {
    for (const { stream, length } of await this.view.streamLengths()) this.metrics.redisStreamLength.set({ stream }, length);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
    await this.admin.disconnect().catch(() => undefined);
  }
}
