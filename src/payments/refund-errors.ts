import { AppError } from '../errors/app-error.js';

export enum RefundErrorCode {
  RefundNotFound = 'refund_not_found',
  PaymentNotRefundable = 'payment_not_refundable',
  RefundExceedsPayment = 'refund_exceeds_payment',
  RefundUnavailable = 'refund_unavailable',
}

export class RefundError extends AppError<RefundErrorCode> {}
