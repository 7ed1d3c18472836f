import type { CurrencyCode } from './currencies.js';

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
