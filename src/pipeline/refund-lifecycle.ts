import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { formatMinorUnits } from '../money/money.js';
import { createEnvelope, stepEventId, type EventEnvelope } from './event-envelope.js';
import { EventBus, PaymentView, type OutgoingEvent } from './ports.js';
import type { RefundRecord } from './refund-record.entity.js';
import { RefundRecords } from './refund-records.repository.js';
import { asRefundEvent, REFUND_EVENT_TYPES, type FinalizedRefundPayload, type RefundPayload, type RefundStatus } from './refund-events.js';
import type { PaymentStage, RefundHistoryStatus } from './payment-status.js';
import type { RefundTransition } from './payment-view.js';
import { decideEach, type DecidedStep, type StageEffects, type StageMessage, type StageOutcome } from './stage-batch.js';
import { TOPICS } from './stages.js';

/** What the refunds stage decided for one refund: announce the outcome that stands (the ledger recorded it). */
export interface RefundStep {
  event: EventEnvelope<RefundPayload>;
  record: RefundRecord;
  /** The payment's refunded total after it, for the Redis view. */
  amountRefundedMinor?: string;
}

const TYPE_BY_STATUS = {
  SUCCEEDED: REFUND_EVENT_TYPES.succeeded,
  DECLINED: REFUND_EVENT_TYPES.declined,
  FAILED: REFUND_EVENT_TYPES.failed,
} as const;

/** A refund's step in its payment's history, by the refund's status. */
const HISTORY_STATUS = {
  PENDING: 'REFUND_PENDING',
  SUCCEEDED: 'REFUNDED',
  DECLINED: 'REFUND_DECLINED',
  FAILED: 'REFUND_FAILED',
} as const satisfies Record<RefundStatus, RefundHistoryStatus>;

/** The history step of a refund that reached `status`; one id per refund and step, the same on every redelivery. */
export function refundTransitionOf(
  refund: Pick<RefundPayload, 'refundId' | 'paymentId' | 'amountMinor' | 'currency'>,
  status: RefundStatus,
  stage: PaymentStage,
  at: string,
  reason?: string | null,
): RefundTransition {
  const step = HISTORY_STATUS[status];
  return {
    eventId: stepEventId(refund.refundId, step),
    paymentId: refund.paymentId,
    status: step,
    stage,
    at,
    ...(reason && { reason }),
    detail: { refundId: refund.refundId, amount: formatMinorUnits(BigInt(refund.amountMinor), refund.currency), currency: refund.currency },
  };
}

/** A stage batch as refund events: one that is not a refund is a dead letter at once. */
export function decideEachRefund(
  batch: StageMessage[],
  decide: (refunds: EventEnvelope<RefundPayload>[]) => Promise<StageOutcome<RefundStep>[]>,
): Promise<StageOutcome<RefundStep>[]> {
  return decideEach(batch, asRefundEvent, decide);
}

/**
 * How a refund ends, for the refunds stage and the dead letters: the `refunds` table holds its one
 * outcome (the ledger's posting, or a FAILED row that keeps a later delivery from moving money), then
 * one acks=all produce announces the outcome that stands on refunds.finalized, keyed by the payer.
 */
@Injectable()
export class RefundLifecycle implements StageEffects<RefundStep> {
  constructor(
    private readonly publisher: EventBus,
    private readonly view: PaymentView,
    private readonly refunds: RefundRecords,
    private readonly metrics: MetricsService,
  ) {}

  /** The refunds stage decides in PostgreSQL, whatever Redis says: nothing is skipped. */
  async finished(): Promise<ReadonlySet<string>> {
    return new Set();
  }

  async apply(steps: DecidedStep<RefundStep>[]): Promise<void> {
    await this.announce(steps.map(({ step }) => step), 'refunds');
  }

  /** Ends a refund FAILED unless it has an outcome, then announces the outcome that stands (a dead letter). */
  async fail(event: EventEnvelope<RefundPayload>, outcomeReason: string): Promise<RefundRecord> {
    const { record, decidedNow } = await this.refunds.insert(
      {
        id: event.payload.refundId,
        paymentId: event.payload.paymentId,
        merchantId: event.payload.merchantId,
        userId: event.payload.userId,
        amountMinor: event.payload.amountMinor,
        currency: event.payload.currency,
        status: 'FAILED',
        outcomeReason,
        reason: event.payload.reason ?? null,
        description: event.payload.description ?? null,
        requestedAt: new Date(event.payload.requestedAt),
      },
      'keep-first',
    );
    if (decidedNow) this.metrics.refundFinalized(record);
    await this.announce([{ event, record }], 'dead-letter');
    return record;
  }

  private async announce(steps: RefundStep[], stage: PaymentStage): Promise<void> {
    if (steps.length === 0) return;
    const now = new Date();
    const events: OutgoingEvent[] = steps.map(({ event, record }) => {
      const type = TYPE_BY_STATUS[record.status];
      const payload: FinalizedRefundPayload = { ...event.payload, status: record.status, outcomeReason: record.outcomeReason, finalizedAt: record.createdAt.toISOString() };
      // One id per refund outcome, the same on every redelivery.
      return { topic: TOPICS.refundFinalized, key: event.payload.userId, envelope: createEnvelope(type, event.paymentId, payload, event.correlationId, now, stepEventId(record.id, type)) };
    });
    await this.publisher.publish(events);
    // Best effort: PostgreSQL holds the outcome and the total; a status or history query falls back to it.
    const transitions = steps.map(({ event, record }) => refundTransitionOf(event.payload, record.status, stage, record.createdAt.toISOString(), record.outcomeReason));
    await this.view.appendRefundSteps(transitions).catch(() => undefined);
    for (const { event, amountRefundedMinor } of steps) {
      if (amountRefundedMinor && amountRefundedMinor !== '0') await this.view.noteRefunded(event.paymentId, amountRefundedMinor).catch(() => undefined);
    }
  }
}
