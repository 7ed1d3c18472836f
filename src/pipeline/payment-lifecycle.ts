import { Injectable, Logger } from '@nestjs/common';
import { createEnvelope, stepEventId, type EventEnvelope } from './event-envelope.js';
import { decideEach, type DecidedStep, type StageEffects, type StageMessage, type StageOutcome } from './stage-batch.js';
import { stageSpec, TOPICS, type Stage } from './stages.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { StateTransition } from './payment-view.js';
import { EventBus, PaymentView, type OutgoingEvent } from './ports.js';
import { isTerminal, type PaymentStage, type PaymentStatus } from './payment-status.js';
import { asPaymentEvent, PAYMENT_EVENT_TYPES, snapshotOf, type FinalizedPaymentPayload, type PaymentPayload } from './payment-events.js';
import type { PaymentRecord } from './payment-record.entity.js';
import { PaymentRecords, type TerminalOutcome, type TerminalRow } from './payment-records.repository.js';

const TYPE_BY_STATUS = {
  COMPLETED: PAYMENT_EVENT_TYPES.completed,
  DECLINED: PAYMENT_EVENT_TYPES.declined,
  REJECTED: PAYMENT_EVENT_TYPES.rejected,
  FAILED: PAYMENT_EVENT_TYPES.failed,
} as const;

export type { TerminalOutcome };

/** What a stage decided for one payment, applied by PaymentLifecycle together with the rest of its batch. */
export type PaymentStep =
  /** Hand the payment to the next stage: the stage table's output topic of this one. */
  | {
      kind: 'advance';
      event: EventEnvelope<PaymentPayload>;
      status: PaymentStatus;
      stage: Exclude<Stage, 'refunds' | 'webhooks'>;
      type: string;
      payload: PaymentPayload;
      detail?: Record<string, unknown>;
    }
  /** End the payment: record the outcome unless one exists, then announce the one that stands. */
  | { kind: 'finish'; event: EventEnvelope<PaymentPayload>; outcome: TerminalOutcome }
  /** Announce an outcome the stage recorded itself (the ledger, in its posting transaction). */
  | { kind: 'announce'; event: EventEnvelope<PaymentPayload>; record: PaymentRecord; detail?: Record<string, unknown> };

type Advance = Omit<Extract<PaymentStep, { kind: 'advance' }>, 'kind' | 'event'>;

/** The outcome "advance this payment" for a stage's batch handler. */
export const advanceTo = (event: EventEnvelope<PaymentPayload>, next: Advance): StageOutcome<PaymentStep> => ({ kind: 'step', step: { kind: 'advance', event, ...next } });
/** The outcome "end this payment" for a stage's batch handler. */
export const finishAs = (event: EventEnvelope<PaymentPayload>, outcome: TerminalOutcome): StageOutcome<PaymentStep> => ({ kind: 'step', step: { kind: 'finish', event, outcome } });
/** The outcome "announce what the stage recorded" for a stage's batch handler. */
export const announce = (event: EventEnvelope<PaymentPayload>, record: PaymentRecord): StageOutcome<PaymentStep> => ({ kind: 'step', step: { kind: 'announce', event, record } });

/** A stage batch as payment events (decideEach with the payment's assertions). */
export function decideEachPayment(
  batch: StageMessage[],
  decide: (payments: EventEnvelope<PaymentPayload>[]) => Promise<StageOutcome<PaymentStep>[]>,
): Promise<StageOutcome<PaymentStep>[]> {
  return decideEach(batch, asPaymentEvent, decide);
}

function outputOf(stage: Stage): string {
  const output = stageSpec(stage).output;
  if (!output) throw new Error(`Stage ${stage} is the last one: it finishes payments, it cannot advance them`);
  return output;
}

/**
 * How the pipeline moves payments on: hand them to the next topic, or end them, a whole stage batch at
 * a time in a constant number of round trips (the stages' StageEffects). Both are safe to repeat after
 * a redelivery. The `payments` table decides each payment's one terminal outcome (first row wins);
 * Kafka and the Redis view are then told that outcome.
 */
@Injectable()
export class PaymentLifecycle implements StageEffects<PaymentStep> {
  private readonly logger = new Logger(PaymentLifecycle.name);

  constructor(
    private readonly publisher: EventBus,
    private readonly state: PaymentView,
    private readonly records: PaymentRecords,
    private readonly metrics: MetricsService,
  ) {}

  /** Which of the payments the Redis view already holds terminal (one call); stages skip their events. Redis away: none. */
  async finished(paymentIds: string[]): Promise<ReadonlySet<string>> {
    try {
      const statuses = await this.state.statuses(paymentIds);
      return new Set(paymentIds.filter((_, i) => isTerminal(statuses[i])));
    } catch {
      return new Set();
    }
  }

  /**
   * Applies a batch's steps: the terminal rows of the `finish` steps in one statement, then one
   * acks=all produce of every next event and outcome (in the batch's order, so a payer's stay in
   * order), then one script call for every transition of the Redis view.
   */
  async apply(steps: DecidedStep<PaymentStep>[]): Promise<void> {
    await this.applySteps(steps.map(({ step }) => step));
  }

  /** Ends one payment outside a stage batch (a dead letter): as a `finish` step. */
  async finish(event: EventEnvelope<PaymentPayload>, outcome: TerminalOutcome): Promise<void> {
    await this.applySteps([{ kind: 'finish', event, outcome }]);
  }

  /**
   * Writes the terminal row unless one exists and returns the row that stands: an earlier outcome wins
   * quietly (rejections, dead letters, the intake's abandonment). The ledger writes its rows itself,
   * inside its posting transaction, where a conflict must roll the money back (LedgerService).
   */
  async recordTerminal(paymentId: string, payment: PaymentPayload, outcome: TerminalOutcome): Promise<PaymentRecord> {
    return (await this.recordTerminals([{ paymentId, payment, outcome }])).get(paymentId)!;
  }

  private async applySteps(steps: PaymentStep[]): Promise<void> {
    if (steps.length === 0) return;
    const finishing = steps.flatMap((s) => (s.kind === 'finish' ? [{ paymentId: s.event.paymentId, payment: s.event.payload, outcome: s.outcome }] : []));
    const recorded = await this.recordTerminals(finishing);
    const events: OutgoingEvent[] = [];
    const transitions: StateTransition[] = [];
    const now = new Date();
    const at = now.toISOString();
    for (const s of steps) {
      const key = s.event.payload.userId;
      if (s.kind === 'advance') {
        const next = this.envelope(s.event, s.type, s.payload, now);
        events.push({ topic: outputOf(s.stage), key, envelope: next });
        transitions.push(this.transition(s.event, next.eventId, s.status, s.stage, at, null, s.detail));
        continue;
      }
      const record = s.kind === 'finish' ? recorded.get(s.event.paymentId)! : s.record;
      const detail = s.kind === 'finish' ? s.outcome.detail : s.detail;
      const finalized = this.envelope(s.event, TYPE_BY_STATUS[record.status as TerminalOutcome['status']], this.finalizedPayload(s.event, record), now);
      events.push({ topic: TOPICS.finalized, key, envelope: finalized });
      transitions.push(this.transition(s.event, finalized.eventId, record.status, record.stage, at, record.reason, detail));
    }
    await this.publisher.publish(events);
    await this.view(transitions);
  }

  /** One INSERT for all (first row wins), then the rows that stand; each outcome decided here is counted once. */
  private async recordTerminals(requests: TerminalRow[]): Promise<Map<string, PaymentRecord>> {
    if (requests.length === 0) return new Map();
    const unique = [...new Map(requests.map((r) => [r.paymentId, r])).values()];
    // Counted once, by the write that decided the outcome (not inside a transaction: written is committed).
    const decided = await this.records.insertTerminal(unique, 'keep-first');
    for (const r of unique) if (decided.has(r.paymentId)) this.metrics.paymentFinalized(r.outcome, r.payment);
    const byId = await this.records.findByIds(unique.map((r) => r.paymentId));
    for (const r of unique) if (!byId.has(r.paymentId)) throw new Error(`Payment ${r.paymentId} has no terminal row after recording it`);
    return byId;
  }

  private finalizedPayload(event: EventEnvelope<PaymentPayload>, record: PaymentRecord): FinalizedPaymentPayload {
    return {
      ...event.payload,
      status: record.status,
      stage: record.stage,
      reason: record.reason,
      riskScore: record.riskScore,
      finalizedAt: record.updatedAt.toISOString(),
    };
  }

  private envelope<T>(event: EventEnvelope<PaymentPayload>, type: string, payload: T, now: Date): EventEnvelope<T> {
    return createEnvelope(type, event.paymentId, payload, event.correlationId, now, stepEventId(event.paymentId, type));
  }

  private transition(
    event: EventEnvelope<PaymentPayload>,
    eventId: string,
    status: PaymentStatus,
    stage: PaymentStage,
    at: string,
    reason: string | null,
    detail?: Record<string, unknown>,
  ): StateTransition {
    return {
      eventId,
      status,
      stage,
      at,
      ...(reason && { reason }),
      ...(detail && { detail }),
      payment: snapshotOf(event.paymentId, event.payload),
    };
  }

  /** The Redis view is best effort here: Kafka and PostgreSQL already hold the truth of these steps. */
  private async view(transitions: StateTransition[]): Promise<void> {
    try {
      await this.state.appendAll(transitions);
    } catch (error) {
      const ids = transitions.slice(0, 3).map((t) => t.payment.paymentId);
      this.logger.warn(
        `${transitions.length} transition(s) (payments ${ids.join(', ')}${transitions.length > 3 ? ', …' : ''}) missed the Redis view: ${(error as Error).message}`,
      );
    }
  }
}
