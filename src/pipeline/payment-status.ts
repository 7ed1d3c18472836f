/**
 * The status machine of a payment. It only moves forward: PENDING → VALIDATED → APPROVED → one
 * terminal status. REJECTED comes from validation or fraud, COMPLETED and DECLINED from the ledger,
 * FAILED when a stage gave up (dead letter) or the intake could not confirm the event.
 */
export const PAYMENT_STATUSES = ['PENDING', 'VALIDATED', 'APPROVED', 'COMPLETED', 'DECLINED', 'REJECTED', 'FAILED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const TERMINAL_PAYMENT_STATUSES: readonly PaymentStatus[] = ['COMPLETED', 'DECLINED', 'REJECTED', 'FAILED'];

/** Position in the machine; a transition to a lower or equal rank never replaces the current status. */
export const STATUS_RANK: Record<PaymentStatus, number> = {
  PENDING: 0,
  VALIDATED: 1,
  APPROVED: 2,
  COMPLETED: 3,
  DECLINED: 3,
  REJECTED: 3,
  FAILED: 3,
};

export function isTerminal(status: string | undefined | null): boolean {
  return TERMINAL_PAYMENT_STATUSES.includes(status as PaymentStatus);
}

/**
 * A refund's steps in its payment's history (REFUND_PENDING at the intake's 202, then one outcome).
 * They are history only: the payment's status stays COMPLETED, so they have no rank.
 */
export const REFUND_HISTORY_STATUSES = ['REFUND_PENDING', 'REFUNDED', 'REFUND_DECLINED', 'REFUND_FAILED'] as const;
export type RefundHistoryStatus = (typeof REFUND_HISTORY_STATUSES)[number];

export function isRefundHistoryStatus(status: string): status is RefundHistoryStatus {
  return (REFUND_HISTORY_STATUSES as readonly string[]).includes(status);
}

/** Which part of the system recorded a transition. */
export type PaymentStage = 'intake' | 'validation' | 'fraud' | 'ledger' | 'refunds' | 'dead-letter';
