import { formatMinorUnits } from '../money/money.js';
import type { EventEnvelope } from '../pipeline/event-envelope.js';
import { PAYMENT_EVENT_TYPES, snapshotOf, type FinalizedPaymentPayload } from '../pipeline/payment-events.js';
import type { PaymentSnapshot } from '../pipeline/payment-view.js';
import { REFUND_EVENT_TYPES, type FinalizedRefundPayload } from '../pipeline/refund-events.js';
import { PermanentEventError } from '../pipeline/stage-batch.js';

/** The outcomes a merchant can subscribe to; `*` is all of them. */
export const WEBHOOK_EVENT_TYPES = [
  PAYMENT_EVENT_TYPES.completed,
  PAYMENT_EVENT_TYPES.declined,
  PAYMENT_EVENT_TYPES.rejected,
  PAYMENT_EVENT_TYPES.failed,
  REFUND_EVENT_TYPES.succeeded,
  REFUND_EVENT_TYPES.declined,
  REFUND_EVENT_TYPES.failed,
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const ALL_EVENTS = '*';

/** What a merchant gets, by webhook and from GET /api/events: the outcome and a snapshot of its object. */
export interface WebhookEvent {
  /** `evt_` and 32 hex digits, derived from the outcome: a redelivered Kafka record makes the same event. */
  id: string;
  type: WebhookEventType;
  created: string;
  data: { object: PaymentObject | RefundObject };
}

/** The payment as GET /api/payments/{id} shows it (its snapshot: ids, amount, createdAt), and its outcome. */
export interface PaymentObject extends PaymentSnapshot {
  object: 'payment';
  status: string;
  reason: string | null;
  riskScore: number | null;
  finalizedAt: string;
}

export interface RefundObject {
  object: 'refund';
  refundId: string;
  paymentId: string;
  merchantId: string;
  amount: string;
  currency: string;
  status: string;
  outcomeReason: string | null;
  reason: string | null;
  description: string | null;
  requestedAt: string;
  finalizedAt: string;
}

/** An outcome as the webhooks stage stores it. */
export interface WebhookEventRow {
  id: string;
  merchantId: string;
  type: WebhookEventType;
  paymentId: string;
  refundId: string | null;
  data: PaymentObject | RefundObject;
  createdAt: string;
}

const TYPES = new Set<string>(WEBHOOK_EVENT_TYPES);

/** The webhook event of a payments.finalized or refunds.finalized record; a PermanentEventError for anything else. */
export function webhookEventOf(envelope: EventEnvelope<unknown>): WebhookEventRow {
  if (!TYPES.has(envelope.type)) throw new PermanentEventError(`Malformed event: ${envelope.type} is no outcome`);
  const type = envelope.type as WebhookEventType;
  const id = `evt_${envelope.eventId.replace(/-/g, '')}`;
  if (type.startsWith('refund.')) {
    const p = envelope.payload as FinalizedRefundPayload;
    if (typeof p?.refundId !== 'string' || typeof p.amountMinor !== 'string') throw new PermanentEventError('Malformed event: the payload is not a refund outcome');
    const data: RefundObject = {
      object: 'refund',
      refundId: p.refundId,
      paymentId: p.paymentId,
      merchantId: p.merchantId,
      amount: formatMinorUnits(BigInt(p.amountMinor), p.currency),
      currency: p.currency,
      status: p.status,
      outcomeReason: p.outcomeReason ?? null,
      reason: p.reason ?? null,
      description: p.description ?? null,
      requestedAt: p.requestedAt,
      finalizedAt: p.finalizedAt,
    };
    return { id, merchantId: p.merchantId, type, paymentId: p.paymentId, refundId: p.refundId, data, createdAt: p.finalizedAt };
  }
  const p = envelope.payload as FinalizedPaymentPayload;
  if (typeof p?.merchantId !== 'string' || typeof p.amountMinor !== 'string') throw new PermanentEventError('Malformed event: the payload is not a payment outcome');
  const data: PaymentObject = {
    object: 'payment',
    ...snapshotOf(envelope.paymentId, p),
    status: p.status,
    reason: p.reason ?? null,
    riskScore: p.riskScore ?? null,
    finalizedAt: p.finalizedAt,
  };
  return { id, merchantId: p.merchantId, type, paymentId: envelope.paymentId, refundId: null, data, createdAt: p.finalizedAt };
}

/** The JSON a webhook delivers and GET /api/events answers. */
export function publicEventOf(row: Pick<WebhookEventRow, 'id' | 'type' | 'data' | 'createdAt'>): WebhookEvent {
  return { id: row.id, type: row.type, created: row.createdAt, data: { object: row.data } };
}
