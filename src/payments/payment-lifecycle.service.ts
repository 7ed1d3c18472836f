import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { createEnvelope, stepEventId, type EventEnvelope } from '../kafka/event-envelope.js';
import { EventPublisher } from '../kafka/event-publisher.js';
import { TOPICS } from '../kafka/topics.js';
import { AfterCommit } from '../metrics/after-commit.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PaymentStateStore } from '../state/payment-state.store.js';
import { isTerminal, type PaymentStage, type PaymentStatus } from '../state/payment-status.js';
import { PAYMENT_EVENT_TYPES, snapshotOf, type FinalizedPaymentPayload, type PaymentPayload } from './payment-events.js';
import { PaymentRecord } from './payment-record.entity.js';

export interface TerminalOutcome {
  status: Extract<PaymentStatus, 'COMPLETED' | 'DECLINED' | 'REJECTED' | 'FAILED'>;
  stage: PaymentStage;
  reason: string | null;
  riskScore?: number | null;
  detail?: Record<string, unknown>;
}

const TYPE_BY_STATUS = {
  COMPLETED: PAYMENT_EVENT_TYPES.completed,
  DECLINED: PAYMENT_EVENT_TYPES.declined,
  REJECTED: PAYMENT_EVENT_TYPES.rejected,
  FAILED: PAYMENT_EVENT_TYPES.failed,
} as const;

/**
 * How a stage moves a payment on: hand it to the next topic, or end it. Both are safe to repeat
 * after a redelivery. The `payments` table decides the one terminal outcome (first row wins); Kafka
 * and the Redis view are then told that outcome.
 */
@Injectable()
export class PaymentLifecycle {
  private readonly logger = new Logger(PaymentLifecycle.name);

  constructor(
    private readonly publisher: EventPublisher,
    private readonly state: PaymentStateStore,
    @InjectRepository(PaymentRecord) private readonly records: Repository<PaymentRecord>,
    private readonly metrics: MetricsService,
    private readonly afterCommit: AfterCommit,
  ) {}

  /** True when the Redis view already holds a terminal state; stages then skip the event. Redis away: false. */
  async isFinished(paymentId: string): Promise<boolean> {
    try {
      return isTerminal(await this.state.status(paymentId));
    } catch {
      return false;
    }
  }

  /** Publishes the payment to the next stage's topic, then records the transition in the Redis view. */
  async advance<T extends PaymentPayload>(
    event: EventEnvelope<PaymentPayload>,
    step: { status: PaymentStatus; stage: PaymentStage; topic: string; type: string; payload: T; detail?: Record<string, unknown> },
  ): Promise<void> {
    const next = this.envelope(event, step.type, step.payload);
    await this.publisher.publish([{ topic: step.topic, key: event.payload.userId, envelope: next }]);
    await this.view(event, next.eventId, step.status, step.stage, null, step.detail);
  }

  /** Ends the payment: records the outcome unless one exists, then announces whichever outcome won. */
  async finish(event: EventEnvelope<PaymentPayload>, outcome: TerminalOutcome): Promise<PaymentRecord> {
    const record = await this.recordTerminal(event.paymentId, event.payload, outcome);
    await this.announce(event, record, outcome.detail);
    return record;
  }

  /**
   * Writes the terminal row unless one exists and returns the row that stands: an earlier outcome wins
   * quietly (rejections, dead letters, the intake's abandonment). The ledger writes its rows itself,
   * inside its posting transaction, where a conflict must roll the money back (LedgerService).
   */
  async recordTerminal(paymentId: string, payment: PaymentPayload, outcome: TerminalOutcome): Promise<PaymentRecord> {
    const manager = this.records.manager;
    const inserted: unknown[] = await manager.query(
      `INSERT INTO payments (id, merchant_id, order_id, user_id, amount_minor, currency, status, stage, reason, risk_score, accepted_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [
        paymentId,
        payment.merchantId,
        payment.orderId,
        payment.userId,
        payment.amountMinor,
        payment.currency,
        outcome.status,
        outcome.stage,
        outcome.reason,
        outcome.riskScore ?? null,
        payment.acceptedAt,
      ],
    );
    // Counted once, by the write that decided the outcome (and only once its transaction committed).
    if (inserted.length > 0) this.afterCommit.run(manager, () => this.metrics.paymentFinalized(outcome, payment));
    return manager.getRepository(PaymentRecord).findOneByOrFail({ id: paymentId });
  }

  /** Tells Kafka (payments.finalized) and the Redis view the outcome that stands. */
  async announce(event: EventEnvelope<PaymentPayload>, record: PaymentRecord, detail?: Record<string, unknown>): Promise<void> {
    const type = TYPE_BY_STATUS[record.status as TerminalOutcome['status']];
    const payload: FinalizedPaymentPayload = {
      ...event.payload,
      status: record.status,
      stage: record.stage,
      reason: record.reason,
      riskScore: record.riskScore,
      finalizedAt: record.updatedAt.toISOString(),
    };
    this.logger.debug(`Payment ${record.status}${record.reason ? ` (${record.reason})` : ''} at ${record.stage}`);
    const finalized = this.envelope(event, type, payload);
    await this.publisher.publish([{ topic: TOPICS.finalized, key: event.payload.userId, envelope: finalized }]);
    await this.view(event, finalized.eventId, record.status, record.stage, record.reason, detail);
  }

  private envelope<T>(event: EventEnvelope<PaymentPayload>, type: string, payload: T): EventEnvelope<T> {
    return createEnvelope(type, event.paymentId, payload, event.correlationId, new Date(), stepEventId(event.paymentId, type));
  }

  /** The Redis view is best effort here: Kafka and PostgreSQL already hold the truth of this step. */
  private async view(
    event: EventEnvelope<PaymentPayload>,
    eventId: string,
    status: PaymentStatus,
    stage: PaymentStage,
    reason: string | null,
    detail?: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.state.append({
        eventId,
        status,
        stage,
        at: new Date().toISOString(),
        ...(reason && { reason }),
        ...(detail && { detail }),
        payment: snapshotOf(event.paymentId, event.payload),
      });
    } catch (error) {
      this.logger.warn(`Payment ${event.paymentId} is ${status} but the Redis view missed it: ${(error as Error).message}`);
    }
  }
}
