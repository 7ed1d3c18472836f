import { Kafka, logLevel } from 'kafkajs';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { kafkaConnectionOptions } from '../kafka/kafka-client.factory.js';
import { KafkaTopics } from '../kafka/kafka-topics.js';
import { parseEnvelope } from '../pipeline/event-envelope.js';
import { PaymentRecords } from '../pipeline/payment-records.repository.js';
import { PaymentStateStore } from '../state/payment-state.store.js';
import { stateSettingsOf } from '../state/state-settings.js';
import { RedisKeySpace } from '../redis/key-space.js';
import type { RedisClient } from '../redis/redis.module.js';
import { TOPICS } from '../pipeline/stages.js';
import { checkLedgerInvariants, type InvariantViolation } from '../ledger/ledger-invariants.js';
import { isTerminal } from '../pipeline/payment-status.js';
import { checkWebhookInvariants } from '../webhooks/webhook-invariants.js';

/** How long the webhooks stage gets to store outcomes decided just before the check. */
const WEBHOOK_SETTLE_MS = 10_000;

/** The deployment named by the configuration has no payments topic: the wrong broker or prefix, or one that never started. */
export class DeploymentNotFound extends Error {}

export interface VerificationReport {
  acceptedPayments: number;
  terminalPayments: number;
  violations: InvariantViolation[];
}

/**
 * Checks a deployment without changing anything: every payment whose initiated event Kafka holds has
 * exactly one terminal row, the ledger invariants hold, Redis agrees with PostgreSQL on every
 * finished payment it still holds, and every outcome has its webhook event and deliveries.
 */
export class DeploymentVerifier {
  // The owners of the names: topics and groups (KafkaTopics), the Redis view's keys (the state
  // store), the payments table (PaymentRecords). The verifier spells none of them itself.
  private readonly topics: KafkaTopics;
  private readonly view: PaymentStateStore;
  private readonly records: PaymentRecords;

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    redis: RedisClient,
  ) {
    this.topics = new KafkaTopics(config);
    this.view = new PaymentStateStore(redis, stateSettingsOf(config), RedisKeySpace.of(config));
    this.records = new PaymentRecords(dataSource);
  }

  async verify({ settleMs = 0 } = {}): Promise<VerificationReport> {
    const accepted = await this.acceptedPaymentIds();
    // Payments still in the pipeline get until the deadline to finish.
    const deadline = Date.now() + settleMs;
    let missing = await this.withoutTerminalRow(accepted);
    while (missing.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      missing = await this.withoutTerminalRow(missing);
    }
    const violations: InvariantViolation[] = missing.map((paymentId) => ({
      invariant: 'every accepted payment has exactly one terminal state',
      detail: { paymentId },
    }));
    violations.push(...(await checkLedgerInvariants(this.dataSource.manager)));
    violations.push(...(await this.redisDisagreements(accepted)));
    violations.push(...(await this.undeliveredOutcomes(Math.max(deadline, Date.now() + WEBHOOK_SETTLE_MS))));
    return { acceptedPayments: accepted.length, terminalPayments: accepted.length - missing.length, violations };
  }

  /** Outcomes decided before this check began without their webhook event or delivery, given until `deadline` to get them. */
  private async undeliveredOutcomes(deadline: number): Promise<InvariantViolation[]> {
    const decidedBefore = new Date();
    for (;;) {
      const violations = await checkWebhookInvariants(this.dataSource.manager, decidedBefore);
      if (violations.length === 0 || Date.now() >= deadline) return violations;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Every payment id on payments.initiated, read from the beginning up to the current end. */
  private async acceptedPaymentIds(): Promise<string[]> {
    const kafka = new Kafka({ ...kafkaConnectionOptions(this.config.kafka), clientId: `${this.config.kafka.clientId}-verify`, logLevel: logLevel.NOTHING });
    const topic = this.topics.physical(TOPICS.initiated);
    const admin = kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      // The app creates its topics when it starts; without this check kafkajs fails with a bare UNKNOWN_TOPIC_OR_PARTITION.
      if (!(await admin.listTopics()).includes(topic)) {
        const { brokers, topicPrefix } = this.config.kafka;
        throw new DeploymentNotFound(
          `Kafka at ${brokers.join(',')} has no topic ${topic}: no app of this deployment (KAFKA_TOPIC_PREFIX=${JSON.stringify(topicPrefix)}) has started there. Check KAFKA_BROKERS and KAFKA_TOPIC_PREFIX, or start the app first (npm run local).`,
        );
      }
      ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
    } finally {
      await admin.disconnect();
    }
    const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([partition]) => partition));
    const ids = new Set<string>();
    if (pending.size === 0) return [];
    const consumer = kafka.consumer({ groupId: this.topics.consumerGroup(`verify-${Date.now()}`), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const envelope = parseEnvelope(message.value?.toString() ?? '');
            if (envelope) ids.add(envelope.paymentId);
            if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) pending.delete(partition);
            if (pending.size === 0) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    return [...ids];
  }

  private async withoutTerminalRow(paymentIds: string[]): Promise<string[]> {
    if (paymentIds.length === 0) return [];
    const found = await this.records.statuses(paymentIds);
    return paymentIds.filter((id) => !found.has(id));
  }

  private async redisDisagreements(paymentIds: string[]): Promise<InvariantViolation[]> {
    const violations: InvariantViolation[] = [];
    for (let i = 0; i < paymentIds.length; i += 500) {
      const chunk = paymentIds.slice(i, i + 500);
      const inPostgres = await this.records.statuses(chunk);
      const inRedisView = await this.view.statuses(chunk);
      chunk.forEach((id, index) => {
        const inRedis = inRedisView[index];
        if (!isTerminal(inRedis)) return; // forgotten or still moving: Redis is only a view
        if (inPostgres.get(id) !== inRedis) {
          violations.push({ invariant: 'Redis agrees with PostgreSQL on finished payments', detail: { paymentId: id, redis: inRedis, postgres: inPostgres.get(id) ?? null } });
        }
      });
    }
    return violations;
  }
}
