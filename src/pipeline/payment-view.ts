import type { CurrencyCode } from '../money/currencies.js';
import { formatMinorUnits, toMinorUnits } from '../money/money.js';
import type { PaymentStage, PaymentStatus } from './payment-status.js';

/** What every transition carries about the payment, so the current state reads in one O(1) lookup. */
export interface PaymentSnapshot {
  paymentId: string;
  orderId: string;
  userId: string;
  merchantId: string;
  /** Decimal string in major units, as the API shows it. */
  amount: string;
  currency: string;
  createdAt: string;
}

export interface StateTransition {
  /** Id of the event that caused the transition; appending the same event twice records it once. */
  eventId: string;
  status: PaymentStatus;
  stage: PaymentStage;
  at: string;
  reason?: string;
  detail?: Record<string, unknown>;
  payment: PaymentSnapshot;
}

export interface CurrentState extends PaymentSnapshot {
  status: PaymentStatus;
  stage: PaymentStage;
  reason?: string;
  updatedAt: string;
  /** A COMPLETED payment's refunds so far (decimal, major units); its status stays COMPLETED. */
  amountRefunded?: string;
  refundStatus?: 'partially_refunded' | 'refunded';
}

export interface HistoryEntry {
  status: PaymentStatus;
  stage: PaymentStage;
  at: string;
  reason?: string;
  detail?: Record<string, unknown>;
}

/** Outcome of an append: recorded, already recorded (same eventId), or ignored behind a later status. */
export type AppendResult = 'appended' | 'duplicate' | 'stale';

/** The fast, replayable view of every payment's transitions (Redis Streams); never the system of record. */
export abstract class PaymentView {
  abstract appendAll(transitions: StateTransition[]): Promise<AppendResult[]>;
  abstract append(transition: StateTransition): Promise<AppendResult>;
  /** Each payment's current status, null where the view holds none (one round trip). */
  abstract statuses(paymentIds: string[]): Promise<(PaymentStatus | null)[]>;
  abstract status(paymentId: string): Promise<PaymentStatus | null>;
  abstract current(paymentId: string): Promise<CurrentState | null>;
  abstract history(paymentId: string): Promise<HistoryEntry[]>;
  /** A payment's refunded total (minor units) after a refund succeeded; never lowers what the view holds. */
  abstract noteRefunded(paymentId: string, amountRefundedMinor: string): Promise<void>;
  /** The global stream of every transition and its length (a backlog gauge). */
  abstract streamLength(): Promise<{ stream: string; length: number }>;
}

/** A COMPLETED payment's refund fields, from its amount and refunded total in minor units. */
export function refundsOf(status: string, amount: string, currency: string, amountRefundedMinor: string | undefined): Pick<CurrentState, 'amountRefunded' | 'refundStatus'> {
  if (status !== 'COMPLETED') return {};
  const refunded = BigInt(amountRefundedMinor || '0');
  const total = toMinorUnits(amount, currency as CurrencyCode, amount);
  return {
    amountRefunded: formatMinorUnits(refunded, currency as CurrencyCode),
    ...(refunded > 0n && { refundStatus: refunded >= total ? 'refunded' : 'partially_refunded' }),
  };
}
