import { CLIENT_ID_PATTERN } from '../http/client-id.js';
import { isSupportedCurrency, type CurrencyCode } from '../money/currencies.js';
import type { EventEnvelope } from './event-envelope.js';
import { PermanentEventError } from './stage-batch.js';

/** Event types of a refund, carried in EventEnvelope.type; the envelope's paymentId is the refunded payment's. */
export const REFUND_EVENT_TYPES = {
  requested: 'refund.requested',
  succeeded: 'refund.succeeded',
  declined: 'refund.declined',
  failed: 'refund.failed',
} as const;

/** Why a merchant refunds (Stripe's reasons). */
export const REFUND_REASONS = ['requested_by_customer', 'duplicate', 'fraudulent'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

/**
 * A refund's status: PENDING from the intake's 202 until the ledger decides it, then one terminal
 * status. SUCCEEDED moved the money back; DECLINED moved nothing (`REFUND_EXCEEDS_PAYMENT`,
 * `MERCHANT_INSUFFICIENT_FUNDS`, `PAYMENT_NOT_COMPLETED`); FAILED gave up (a dead letter, or the
 * intake could not confirm the event).
 */
export type RefundStatus = 'PENDING' | 'SUCCEEDED' | 'DECLINED' | 'FAILED';
export type TerminalRefundStatus = Exclude<RefundStatus, 'PENDING'>;

/** The refund as the refunds consumer sees it. Money in integer minor units, as a string. */
export interface RefundPayload {
  refundId: string;
  paymentId: string;
  merchantId: string;
  /** The payer, whose wallet gets the money back; also the partitioning key. */
  userId: string;
  amountMinor: string;
  currency: CurrencyCode;
  reason?: RefundReason;
  description?: string;
  /** When the intake accepted it (the 202). */
  requestedAt: string;
}

/** A refund's one outcome, as published on refunds.finalized. */
export interface FinalizedRefundPayload extends RefundPayload {
  status: TerminalRefundStatus;
  outcomeReason: string | null;
  finalizedAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The envelope as a refund event, or a PermanentEventError (dead letter) when it is not one. */
export function asRefundEvent(event: EventEnvelope<unknown>): EventEnvelope<RefundPayload> {
  const p = event.payload as Partial<RefundPayload> | null;
  const valid =
    event.type === REFUND_EVENT_TYPES.requested &&
    p !== null &&
    typeof p === 'object' &&
    typeof p.refundId === 'string' && UUID.test(p.refundId) &&
    p.paymentId === event.paymentId && UUID.test(p.paymentId) &&
    typeof p.merchantId === 'string' && CLIENT_ID_PATTERN.test(p.merchantId) &&
    typeof p.userId === 'string' && CLIENT_ID_PATTERN.test(p.userId) &&
    typeof p.amountMinor === 'string' && /^[1-9]\d{0,17}$/.test(p.amountMinor) &&
    isSupportedCurrency(p.currency) &&
    (p.reason === undefined || (REFUND_REASONS as readonly string[]).includes(p.reason)) &&
    typeof p.requestedAt === 'string' && !Number.isNaN(Date.parse(p.requestedAt));
  if (!valid) throw new PermanentEventError('Malformed event: the payload is not a refund');
  return event as EventEnvelope<RefundPayload>;
}
