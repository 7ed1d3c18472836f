import type { CurrencyCode } from '../money/currencies.js';
import { formatMinorUnits, toMinorUnits } from '../money/money.js';
import { isRefundHistoryStatus, STATUS_RANK, type PaymentStage, type PaymentStatus, type RefundHistoryStatus } from './payment-status.js';

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

/** A refund's step, written to its payment's history only (the payment's current state is untouched). */
export interface RefundTransition {
  /** The same id on every redelivery of the step: appending it twice records it once. */
  eventId: string;
  paymentId: string;
  status: RefundHistoryStatus;
  stage: PaymentStage;
  at: string;
  reason?: string;
  detail: RefundStepDetail;
}

export type RefundStepDetail = {
  refundId: string;
  /** Decimal string in major units. */
  amount: string;
  currency: string;
};

export interface HistoryEntry {
  status: PaymentStatus | RefundHistoryStatus;
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
  /** Refund steps, to their payments' streams and the global stream, in one call. */
  abstract appendRefundSteps(transitions: RefundTransition[]): Promise<AppendResult[]>;
  /** Each payment's current status, null where the view holds none (one round trip). */
  abstract statuses(paymentIds: string[]): Promise<(PaymentStatus | null)[]>;
  abstract status(paymentId: string): Promise<PaymentStatus | null>;
  abstract current(paymentId: string): Promise<CurrentState | null>;
  abstract history(paymentId: string): Promise<HistoryEntry[]>;
  /** A payment's refunded total (minor units) after a refund succeeded; never lowers what the view holds. */
  abstract noteRefunded(paymentId: string, amountRefundedMinor: string): Promise<void>;
  /** The global stream of every transition (each part's, on a Redis Cluster) and its length (a backlog gauge). */
  abstract streamLengths(): Promise<{ stream: string; length: number }[]>;
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

/**
 * A history in the order its machines run, whatever order the steps arrived in (the intake's PENDING
 * can land after validation's VALIDATED, a refund's outcome before its REFUND_PENDING): the payment's
 * steps by rank, then each refund's steps together, refunds in the order they first appear, its
 * REFUND_PENDING first. Arrival order breaks the remaining ties (Array.sort is stable).
 */
export function inMachineOrder(entries: HistoryEntry[]): HistoryEntry[] {
  const payment = entries.filter((e) => !isRefundHistoryStatus(e.status));
  const refunds = entries.filter((e) => isRefundHistoryStatus(e.status));
  const firstSeen = new Map<unknown, number>();
  refunds.forEach((e, i) => firstSeen.set(e.detail?.refundId, firstSeen.get(e.detail?.refundId) ?? i));
  const refundOrder = (e: HistoryEntry) => firstSeen.get(e.detail?.refundId)!;
  const stepOrder = (e: HistoryEntry) => (e.status === 'REFUND_PENDING' ? 0 : 1);
  return [
    ...payment.sort((a, b) => STATUS_RANK[a.status as PaymentStatus] - STATUS_RANK[b.status as PaymentStatus]),
    ...refunds.sort((a, b) => refundOrder(a) - refundOrder(b) || stepOrder(a) - stepOrder(b)),
  ];
}
