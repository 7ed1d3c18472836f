import type { CurrencyCode } from '../money/currencies.js';
import { formatMinorUnits } from '../money/money.js';
import { isSupportedCurrency } from '../money/currencies.js';
import type { EventEnvelope } from './event-envelope.js';
import { PermanentEventError } from './stage-batch.js';
import { CLIENT_ID_PATTERN } from '../http/client-id.js';
import type { PaymentRecord } from './payment-record.entity.js';
import type { PaymentSnapshot } from './payment-view.js';
import type { PaymentStage, PaymentStatus } from './payment-status.js';

/** Event types of the pipeline, carried in EventEnvelope.type. */
export const PAYMENT_EVENT_TYPES = {
  initiated: 'payment.initiated',
  validated: 'payment.validated',
  approved: 'payment.approved',
  completed: 'payment.completed',
  declined: 'payment.declined',
  rejected: 'payment.rejected',
  failed: 'payment.failed',
} as const;

/**
 * How the intake ends a payment whose event Kafka did not confirm (it answered 503): a tombstone that
 * keeps a late-landing event from moving money. It is no outcome of the request, so a retry with the
 * same Idempotency-Key pays as the key's next attempt.
 */
export const ABANDONED_AT_INTAKE = { status: 'FAILED', stage: 'intake', reason: 'PUBLISH_UNCONFIRMED' } as const;

/** The payment as every stage sees it. Money is an integer count of minor units, as a string (JSON has no bigint). */
export interface PaymentPayload {
  orderId: string;
  userId: string;
  merchantId: string;
  amountMinor: string;
  currency: CurrencyCode;
  description?: string;
  /** When the intake accepted it (the 202), for end-to-end latency. */
  acceptedAt: string;
}

/** What the fraud stage adds for the ledger and the record. */
export interface RiskAssessment {
  score: number;
  rules: string[];
}

export interface ApprovedPaymentPayload extends PaymentPayload {
  risk: RiskAssessment;
}

/** The one terminal outcome of a payment, as published on payments.finalized. */
export interface FinalizedPaymentPayload extends PaymentPayload {
  status: PaymentStatus;
  stage: PaymentStage;
  reason: string | null;
  riskScore: number | null;
  finalizedAt: string;
}

/** The payment as the intake accepted it, from its terminal row (which has no description). */
export function paymentOfRecord(record: Pick<PaymentRecord, 'orderId' | 'userId' | 'merchantId' | 'amountMinor' | 'currency' | 'acceptedAt'>): PaymentPayload {
  return {
    orderId: record.orderId,
    userId: record.userId,
    merchantId: record.merchantId,
    amountMinor: record.amountMinor,
    currency: record.currency as CurrencyCode,
    acceptedAt: record.acceptedAt.toISOString(),
  };
}

export function snapshotOf(paymentId: string, payment: PaymentPayload): PaymentSnapshot {
  return {
    paymentId,
    orderId: payment.orderId,
    userId: payment.userId,
    merchantId: payment.merchantId,
    amount: formatMinorUnits(BigInt(payment.amountMinor), payment.currency),
    currency: payment.currency,
    createdAt: payment.acceptedAt,
  };
}

/**
 * Stages trust nothing that arrives from Kafka: a payload without the payment's fields is a poison
 * event and goes to the dead-letter topic at once.
 */
export function assertPaymentPayload(payload: unknown): asserts payload is PaymentPayload {
  const p = payload as Partial<PaymentPayload> | null;
  const valid =
    p !== null &&
    typeof p === 'object' &&
    typeof p.orderId === 'string' && CLIENT_ID_PATTERN.test(p.orderId) &&
    typeof p.userId === 'string' && CLIENT_ID_PATTERN.test(p.userId) &&
    typeof p.merchantId === 'string' && CLIENT_ID_PATTERN.test(p.merchantId) &&
    typeof p.amountMinor === 'string' && /^[1-9]\d{0,17}$/.test(p.amountMinor) &&
    isSupportedCurrency(p.currency) &&
    typeof p.acceptedAt === 'string' && !Number.isNaN(Date.parse(p.acceptedAt));
  if (!valid) throw new PermanentEventError('Malformed event: the payload is not a payment');
}

/** The envelope as a payment event, or a PermanentEventError (dead letter) when it is not one. */
export function asPaymentEvent(event: EventEnvelope<unknown>): EventEnvelope<PaymentPayload> {
  assertPaymentPayload(event.payload);
  return event as EventEnvelope<PaymentPayload>;
}
